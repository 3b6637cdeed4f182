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


SALINE_20_ML_H = ('pump: bd-plastipak-50\nprogram:\n  drug: saline\n'
                  '  concentration_mg_per_ml: 9\n  rate_ml_h: 20\n  volume_ml: 5\n')


def write_program(tmp_path, name='hai.yaml'):
    """The end-to-end tests' program: saline, 20 mL/h for 5 mL."""
    prog = tmp_path / name
    prog.write_text(SALINE_20_ML_H)
    return prog


def load_confirm_start(port, key_file, prog):
    """The session every end-to-end test starts with: load the program of
    write_program, confirm it by the hash the load printed, start."""
    rc, out, err = pumpctl(port, key_file, 'load', str(prog))
    assert rc == 0 and 'step 1: 20.0000 mL/h for 5.0000 mL' in out, (out, err)
    h = [w for w in out.split() if len(w) == 64][0]
    rc, out, err = pumpctl(port, key_file, 'confirm', h[:12])
    assert rc == 0 and 'confirmed ' + h[:16] in out, err
    rc, out, err = pumpctl(port, key_file, 'start')
    assert rc == 0 and 'state RUNNING' in out, err
