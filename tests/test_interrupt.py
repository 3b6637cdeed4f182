"""Ctrl-C: a run stops at the next trace point and writes its partial
result (marked, exit 130); the shell's step returns to the prompt."""
import json
import signal
import subprocess
import sys
import time

from e2e_helpers import ROOT


def test_ctrl_c_during_a_run_writes_the_partial_result(tmp_path):
    out = tmp_path / 'out'
    p = subprocess.Popen([sys.executable, '-m', 'simulator.ui.cli', 'run', 'fudr-14d', '--out',
                          str(out), '--progress'], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and p.stderr.read(1) != '[':   # the progress bar
        pass
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 130, stderr
    assert 'Traceback' not in stderr and 'partial' in stdout
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['interrupted'].startswith('Ctrl-C at t=')
    assert 0 < summary['sim_seconds'] < 673 * 3600
    assert (out / 'trace.png').exists()


def test_ctrl_c_during_a_shell_step_keeps_the_session(tmp_path):
    from simulator.runtime.inproc import Simulation, Interrupt
    from simulator.scenario import load_scenario
    from simulator.ui.shell import Shell
    import io
    import os
    import threading
    sim = Simulation(load_scenario('fudr-14d'))
    sim.boot()
    shell = Shell(sim, out=io.StringIO())
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        shell.execute('step 20d', '')
    finally:
        timer.cancel()
    assert sim.interrupted and 0 < sim.k < 20 * 864000
    sim.interrupted = Interrupt.seen = False
    k = sim.k
    shell.execute('step 1h', '')
    assert sim.k == k + 36000 and not sim.interrupted
