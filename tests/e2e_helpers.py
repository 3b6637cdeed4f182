"""Helpers shared by the end-to-end tests that drive `pumpsim serve` with
pumpctl (tests/test_link_e2e.py, tests/test_bridge_e2e.py). Serve itself is
started and stopped by simulator.benches.link's helpers, which the link bench
uses too."""
import subprocess
import sys
from pathlib import Path

from simulator.benches.link import start_serve, stop_serve  # noqa: F401  (re-exported)

ROOT = Path(__file__).resolve().parent.parent
KEY = b'hai-pump-test-key-do-not-deploy!'


def write_key(tmp_path):
    k = tmp_path / 'pump.key'
    k.write_bytes(KEY)
    k.chmod(0o600)      # pumpctl refuses a key file others can read
    return str(k)


def say(p, line):
    """One command on serve's stdin (started with stdin=True)."""
    p.stdin.write(line + '\n')
    p.stdin.flush()


def pumpctl(port, key_file, *args):
    r = subprocess.run([sys.executable, '-m', 'pumphost.pumpctl', '--port', port,
                        '--key-file', key_file] + list(args),
                       cwd=ROOT, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr
