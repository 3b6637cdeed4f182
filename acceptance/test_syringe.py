"""Syringe removed, and the syringe change inside a program."""
import pytest

from acceptance.helpers import continuous, syringe_change, ALARM, COMPLETE, RUNNING, SYRINGE_CHANGE
from pumphost import codes as C


@pytest.mark.req('REQ-SYR-01')
@pytest.mark.needs('fault:syringe_removed')
def test_syringe_removed_stops_the_pump(dut):
    """The syringe is taken out while running: alarm, motor stopped."""
    dut.start_program([continuous(20, 5.0)])
    dut.wait(30)
    dut.inject('syringe_removed')
    s = dut.wait_for_alarm(C.A_SYRINGE_REMOVED, within_s=30)
    assert s is not None and s['state'] == ALARM
    d0 = dut.status()['device_ml']
    dut.wait(120)
    assert dut.status()['device_ml'] == d0


@pytest.mark.smoke
@pytest.mark.req('REQ-SYR-02')
@pytest.mark.needs('fault:syringe_removed', 'balance')
def test_syringe_change_waits_for_the_nurse(dut):
    """A program with a syringe change: the pump stops at the change and waits;
    the nurse swaps the syringe and confirms (signed RESUME); the course completes."""
    dut.start_program([continuous(30, 0.5), syringe_change(), continuous(30, 0.5)])
    s = dut.wait(300, until=lambda s: s['state'] == SYRINGE_CHANGE)
    assert s is not None, 'did not stop for the syringe change'
    d0 = s['device_ml']
    dut.wait(300)
    assert dut.status()['device_ml'] == d0, 'moved during the syringe change'
    dut.inject('syringe_removed')
    dut.wait(20)
    dut.clear('syringe_removed')
    dut.wait(20)
    if dut.status()['state'] == ALARM:      # the removal itself alarms: the nurse acknowledges
        dut.client.ack_alarm()
        dut.client.resume()                 # out of the alarm: back at the change step
        dut.wait(5)
        assert dut.status()['state'] == SYRINGE_CHANGE, 'left the syringe change without a confirmation'
    dut.client.resume()                     # the nurse confirms the new syringe
    dut.wait(5)
    assert dut.status()['state'] == RUNNING
    assert dut.wait_for_state(COMPLETE, within_s=600) is not None
    dut.record('delivered (device)', round(dut.last['device_ml'], 4), 'mL')
    assert abs(dut.last['device_ml'] - 1.0) <= 0.01
