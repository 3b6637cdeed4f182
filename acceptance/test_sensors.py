"""The pump's own sensors and drive failing."""
import pytest

from acceptance.helpers import continuous, ALARM, FAULT
from pumphost import codes as C


def _runs_then(dut, fault, params, within_s):
    dut.start_program([continuous(20, 10.0)])
    dut.wait(300)
    dut.inject(fault, **params)
    t0 = dut.now_s()
    s = dut.wait(within_s, until=lambda s: s['state'] in (ALARM, FAULT))
    assert s is not None, 'no alarm within %d s of %s' % (within_s, fault)
    dut.record('time to alarm', round(s['t_s'] - t0, 1), 's')
    dut.record('alarms', sorted(s['alarms']))
    d0 = dut.status()['device_ml']
    dut.wait(120)
    assert dut.status()['device_ml'] == d0, 'the motor moved after the alarm'
    return s


@pytest.mark.req('REQ-SEN-01')
@pytest.mark.needs('fault:pressure_sensor')
def test_pressure_sensor_failure_stops_the_pump(dut):
    """The pressure sensor disconnects: the pump cannot watch for occlusion, so it stops and alarms."""
    s = _runs_then(dut, 'pressure_sensor', {'mode': 'disconnected'}, 300)
    assert C.A_PRESSURE_SENSOR in s['alarms']


@pytest.mark.req('REQ-MOT-01')
@pytest.mark.needs('fault:motor_stall')
def test_motor_stall_alarms(dut):
    """The motor emits no steps: the pump notices and alarms."""
    s = _runs_then(dut, 'motor_stall', {}, 600)
    assert C.A_MOTOR_STALL in s['alarms']


@pytest.mark.req('REQ-DEL-04')
@pytest.mark.needs('fault:lead_screw_slip')
def test_lead_screw_slip_alarms_under_infusion(dut):
    """A slipping lead screw (30 % of steps lost): under-infusion alarm."""
    dut.start_program([continuous(20, 10.0)])
    dut.wait(300)
    dut.inject('lead_screw_slip', slip=0.3)
    t0 = dut.now_s()
    s = dut.wait_for_alarm(C.A_UNDER_INFUSION, within_s=1200)
    assert s is not None, 'no under-infusion alarm within 20 min'
    dut.record('time to alarm', round(s['t_s'] - t0, 1), 's')
