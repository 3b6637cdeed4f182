"""Nothing resumes by itself once a fault is gone."""
import pytest

from acceptance.helpers import continuous, ALARM, PAUSED, RUNNING
from pumphost import codes as C
from pumphost.client import Nak

FAULTS = [
    pytest.param('downstream_occlusion', {}, C.A_OCCLUSION_DOWNSTREAM, 900,
                 id='downstream_occlusion'),
    pytest.param('air_bubble', {'volume_ul': 100.0}, C.A_AIR_IN_LINE, 120, id='air_bubble'),
    pytest.param('syringe_removed', {}, C.A_SYRINGE_REMOVED, 30, id='syringe_removed'),
    pytest.param('motor_stall', {}, C.A_MOTOR_STALL, 600, id='motor_stall',
                 marks=pytest.mark.req('REQ-MOT-01')),
]


@pytest.mark.req('REQ-REC-01', 'REQ-REC-02')
@pytest.mark.parametrize('fault,params,alarm,within_s', FAULTS)
def test_no_resume_by_itself(dut, fault, params, alarm, within_s):
    """The fault alarms, then goes away: the pump stays stopped until the
    alarm is acknowledged AND a signed RESUME comes; then it delivers again."""
    if not dut.rig.has('fault:' + fault):
        pytest.skip('the rig cannot inject %s' % fault)
    dut.start_program([continuous(20, 10.0)])
    dut.wait(300)
    dut.inject(fault, **params)
    s = dut.wait_for_alarm(alarm, within_s)
    assert s is not None, 'no alarm %d within %d s' % (alarm, within_s)
    dut.wait(30)
    dut.clear(fault)
    d0 = dut.status()['device_ml']
    dut.wait(600)
    s = dut.status()
    assert s['state'] == ALARM and s['device_ml'] == d0, 'moved after the fault cleared'
    with pytest.raises(Nak):
        dut.client.resume()              # not from ALARM: acknowledge first
    dut.client.ack_alarm()
    dut.wait(300)
    s = dut.status()
    assert s['state'] == PAUSED and s['device_ml'] == d0, 'moved after acknowledge alone'
    dut.client.resume()
    dut.wait(120)
    s = dut.status()
    assert s['state'] == RUNNING and s['device_ml'] > d0
    dut.record('stopped for', round(dut.now_s() - 120 - dut.marks[-1][0], 1), 's')
