import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# device tests import their helpers as top-level modules (as under MicroPython)
sys.path.insert(0, str(ROOT / 'tests' / 'device'))
