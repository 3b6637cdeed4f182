"""Put the repo root first on sys.path before any protocol test imports.

Without it, a bare ``pytest`` (not ``python -m pytest``) resolves
``import protocol`` to the namespace package formed by this very directory
(tests/protocol has no __init__.py, and pytest puts tests/ on sys.path),
while the submodules still load through the editable install.
"""
import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT in sys.path:
    sys.path.remove(ROOT)
sys.path.insert(0, ROOT)
