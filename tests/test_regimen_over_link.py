"""A regimen template over the link, on the MicroPython runtime: HAIC-FOLFOX
loaded with patient data through pumpctl, confirmed, started; the pump runs
its syringe changes (each confirmed with a new syringe and `pumpctl resume`)
and its 5-FU bolus."""
import time

from e2e_helpers import pumpctl, say, start_serve, stop_serve, write_key


def _state(out):
    return out.split()[1] if out.startswith('state ') else None


def test_haic_folfox_template_over_the_link_on_micropython(tmp_path):
    key = write_key(tmp_path)
    p, port, _ = start_serve('micropython', '--speed', '1', 'haic-folfox', stdin=True)
    seen = []
    changes = 0
    try:
        rc, out, err = pumpctl(port, key, 'load', 'haic-folfox', '--height-cm', '170',
                               '--weight-kg', '61.2')
        assert rc == 0, err
        assert out.count('syringe change') >= 3 and ', bolus' in out and ', kvo' in out, out
        hint = [ln for ln in out.splitlines() if 'confirm with:' in ln][0]
        assert '--key-file %s confirm ' % key in hint
        rc, out, err = pumpctl(port, key, 'confirm', hint.split()[-1])
        assert rc == 0, err
        rc, out, err = pumpctl(port, key, 'start')
        assert rc == 0 and 'state RUNNING' in out, (out, err)
        say(p, 'speed 5000')
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            rc, out, err = pumpctl(port, key, 'status')
            assert rc == 0, err
            st = _state(out)
            if not seen or seen[-1] != st:
                seen.append(st)
            assert st not in ('ALARM', 'FAULT'), out
            if st == 'SYRINGE_CHANGE':
                say(p, 'new-syringe')
                time.sleep(0.3)
                rc, out, err = pumpctl(port, key, 'resume')
                assert rc == 0, err
                changes += 1
            elif changes >= 3 and st == 'RUNNING':   # past the bolus: the 46 h 5-FU
                break
            time.sleep(0.1)
        # the bolus lasts 15 simulated minutes (about a second here): the
        # pump's journal has every state it went through
        rc, journal, err = pumpctl(port, key, 'log')
        assert rc == 0, err
    finally:
        log = stop_serve(p)
    assert 'Traceback' not in log
    assert changes >= 3, (seen, changes)
    states = '\n'.join(ln for ln in journal.splitlines() if 'link_' not in ln)
    assert 'RUNNING -> BOLUS (to_bolus)' in states and 'BOLUS -> RUNNING (to_run)' in states, states
    assert states.count('-> SYRINGE_CHANGE (to_syringe)') >= 3, states
    assert states.count('syringe_changed') >= 3, states
    assert states.index('syringe_changed      at step 6') < states.index('RUNNING -> BOLUS'), states
