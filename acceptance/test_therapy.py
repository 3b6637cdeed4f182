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
