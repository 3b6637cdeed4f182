"""Air in line."""
import pytest

from acceptance.helpers import continuous, ALARM
from pumphost import codes as C


@pytest.mark.smoke
@pytest.mark.req('REQ-AIR-01')
@pytest.mark.needs('fault:air_bubble')
def test_air_bubble_alarms_and_stops(dut):
    """A 100 uL bubble at the air sensor: high-priority alarm, motor stopped."""
    dut.start_program([continuous(20, 5.0)])
    dut.wait(60)
    dut.inject('air_bubble', volume_ul=100.0)
    t0 = dut.now_s()
    s = dut.wait_for_alarm(C.A_AIR_IN_LINE, within_s=120)
    assert s is not None, 'no air-in-line alarm within 120 s'
    dut.record('time to air alarm at 20 mL/h', round(s['t_s'] - t0, 1), 's')
    assert s['state'] == ALARM, 'air alarm, but the pump is %s' % s['state_name']
    delivered = dut.status()['device_ml']
    dut.wait(300)
    assert dut.status()['device_ml'] == delivered, 'the motor moved after the air alarm'


@pytest.mark.req('REQ-AIR-02')
@pytest.mark.needs('fault:air_train')
def test_accumulated_small_bubbles_alarm(dut):
    """Many bubbles each too small to alarm add up: the accumulated-air alarm stops the pump."""
    dut.start_program([continuous(20, 10.0)])
    dut.wait(60)
    dut.inject('air_train', volume_ul=30.0, count=100, interval=20.0)   # each under 50 uL
    t0 = dut.now_s()
    s = dut.wait(1500, until=lambda s: s['state'] == ALARM)
    assert s is not None, 'no alarm from accumulated air within 25 min'
    dut.record('time to accumulated-air alarm', round(s['t_s'] - t0, 1), 's')
    codes = dut.record('alarms', sorted(s['alarms']))
    assert C.A_AIR_ACCUMULATED in codes
