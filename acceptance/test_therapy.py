"""A therapy from start to completion, weighed by the balance."""
import pytest

from acceptance.helpers import continuous, COMPLETE, RUNNING
from pumphost import codes as C


@pytest.mark.smoke
@pytest.mark.req('REQ-DEL-01', 'REQ-DEL-02')
@pytest.mark.needs('balance')
def test_therapy_runs_to_completion(dut):
    """10 mL at 60 mL/h: the device completes and stops; the balance weighs the programmed volume."""
    dut.start_program([continuous(60, 10.0)])
    assert dut.last['state'] == RUNNING
    done = dut.wait_for_state(COMPLETE, within_s=900)
    assert done is not None, 'not complete after 15 min (state %s)' % dut.last['state_name']
    dut.record('time to complete', round(done['t_s'], 1), 's')
    dut.wait(120)   # the line empties into the balance
    weighed = dut.record('balance', round(dut.last['balance_ml'], 4), 'mL')
    device = dut.record('device reported', round(dut.last['device_ml'], 4), 'mL')
    err = dut.record('volume error (balance)', round((weighed - 10.0) / 10.0 * 100, 2), '%')
    assert abs(err) <= 5.0
    assert abs(device - 10.0) <= 0.05
    assert C.A_INFUSION_COMPLETE in done['alarms']
    assert dut.journal_events(C.EV_COMPLETE), 'completion not journaled'


@pytest.mark.req('REQ-DEL-03')
@pytest.mark.needs('balance')
def test_low_rate_delivery_keeps_to_time(dut):
    """0.5 mL/h (an HAI maintenance rate): after the first hour, the balance
    gains the programmed volume per hour within 10 % (IEC 60601-2-24 style
    window after start-up)."""
    dut.start_program([continuous(0.5, 5.0)])
    dut.wait(3600)
    assert dut.last['state'] == RUNNING, dut.last['state_name']
    b0 = dut.status()['balance_ml']
    dut.wait(2 * 3600)
    b1 = dut.status()['balance_ml']
    per_h = dut.record('balance gain, hours 1-3', round((b1 - b0) / 2.0, 4), 'mL/h')
    err = dut.record('rate error', round((per_h - 0.5) / 0.5 * 100, 2), '%')
    assert abs(err) <= 10.0


@pytest.mark.req('REQ-DEL-02')
@pytest.mark.needs('balance')
def test_nothing_delivered_after_completion(dut):
    """After COMPLETE the motor stays stopped: the balance gains nothing more
    than the line's stored volume draining (under 0.05 mL in 20 min)."""
    dut.start_program([continuous(60, 1.0)])
    assert dut.wait_for_state(COMPLETE, within_s=600) is not None
    dut.wait(60)
    b0 = dut.status()['balance_ml']
    dev0 = dut.last['device_ml']
    dut.wait(1200)
    gain = dut.record('balance gain after completion (20 min)',
                      round(dut.status()['balance_ml'] - b0, 4), 'mL')
    assert gain < 0.05
    assert dut.last['device_ml'] == dev0
    assert dut.last['state'] == COMPLETE
