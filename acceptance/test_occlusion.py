"""Downstream occlusion (catheter blocked): time to alarm, pressure, motor stop, bolus."""
import pytest

from acceptance.helpers import continuous, ALARM, RUNNING
from pumphost import codes as C

OCC = C.A_OCCLUSION_DOWNSTREAM


def _occlude(dut, rate_ml_h, within_s):
    dut.start_program([continuous(rate_ml_h, 20.0)])
    dut.wait(600)                      # the detector learns the open line
    assert dut.last['state'] == RUNNING, dut.last['state_name']
    t0 = dut.now_s()
    dut.inject('downstream_occlusion')
    s = dut.wait_for_alarm(OCC, within_s)
    assert s is not None, 'no occlusion alarm within %d s at %g mL/h' % (within_s, rate_ml_h)
    return s, s['t_s'] - t0


@pytest.mark.smoke
@pytest.mark.req('REQ-OCC-01', 'REQ-OCC-02')
@pytest.mark.needs('fault:downstream_occlusion', 'line_pressure')
def test_occlusion_alarm_stops_the_motor(dut):
    """HAIC 5-FU rate (1.77 mL/h): a blocked catheter alarms within 30 min at a
    line pressure under 300 mmHg, and the motor stops at the alarm."""
    s, dt = _occlude(dut, 1.77, within_s=1800)
    dut.record('time to occlusion alarm at 1.77 mL/h', round(dt, 1), 's')
    dut.record('line pressure at alarm (rig)', round(s['line_mmhg'], 1), 'mmHg')
    dut.record('sensed pressure at alarm', s['pressure_mmhg'], 'mmHg')
    assert s['state'] == ALARM, 'at the occlusion alarm the pump is %s, not stopped in ALARM' \
        % s['state_name']
    assert s['line_mmhg'] < 300.0
    delivered = dut.status()['device_ml']
    dut.wait(600)
    assert dut.status()['device_ml'] == delivered, 'the motor moved after the occlusion alarm'
    assert dut.last['state'] == ALARM


@pytest.mark.req('REQ-OCC-01', 'REQ-OCC-03')
@pytest.mark.needs('fault:downstream_occlusion', 'balance', 'line_pressure')
def test_occlusion_release_bolus_is_small(dut):
    """At 20 mL/h: alarm, then the blockage clears; the bolus the line lets go
    (balance gain in the next 2 min) is at most 0.1 mL."""
    s, dt = _occlude(dut, 20.0, within_s=600)
    dut.record('time to occlusion alarm at 20 mL/h', round(dt, 1), 's')
    dut.record('line pressure at alarm (rig)', round(s['line_mmhg'], 1), 'mmHg')
    dut.wait(60)     # the pump relieves the line
    b0 = dut.status()['balance_ml']
    dut.clear('downstream_occlusion')
    dut.wait(120)
    bolus = dut.record('bolus after release', round(dut.status()['balance_ml'] - b0, 4), 'mL')
    assert bolus <= 0.1, 'the line let go %.3f mL after the occlusion cleared' % bolus
