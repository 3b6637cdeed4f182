"""The link: duplicate commands, link loss."""
import pytest

from acceptance.helpers import continuous, raw_request, PAUSED, READY, RUNNING
from protocol import codes as W
from pumphost import codes as C


@pytest.mark.smoke
@pytest.mark.req('REQ-DUP-01')
def test_retried_command_executes_once(dut):
    """A START whose reply was lost is resent (same seq, RETRY flag): the
    device answers ACK again and starts the therapy once (one journaled start)."""
    review = dut.program([continuous(20, 1.0)])
    dut.client.confirm(review['program_hash'])
    assert dut.status()['state'] == READY
    t1, _d, trailer, seq = raw_request(dut, W.START)
    t2, _d, _tr, _s = raw_request(dut, W.START, trailer=trailer, seq=seq, retry=True)
    assert (t1, t2) == (W.ACK, W.ACK)
    starts = [r for r in dut.journal_events(C.EV_STATE)
              if r[3] == C.S_PROGRAMMED and r[4] >> 8 == C.S_RUNNING]
    dut.record('journaled starts', len(starts))
    assert len(starts) == 1
    assert dut.status()['state'] == RUNNING


@pytest.mark.req('REQ-LNK-01')
def test_link_loss_pauses_a_program_that_asks(dut):
    """A program flagged stop-on-link-loss: the host goes silent, the pump
    pauses with the link-lost alarm and does not resume when the host is back."""
    review = dut.program([continuous(20, 2.0)], flags=C.FLAG_STOP_ON_LINK_LOSS)
    dut.client.confirm(review['program_hash'])
    dut.client.start()
    dut.wait(30)
    dut.mark('host silent')
    dut.wait(60, heartbeat=False)
    s = dut.status()
    dut.record('state after 60 s of silence', s['state_name'])
    assert s['state'] == PAUSED
    assert C.A_LINK_LOST in s['alarms']
    d0 = s['device_ml']
    dut.wait(300)
    s = dut.status()
    assert s['state'] == PAUSED and s['device_ml'] == d0, 'resumed by itself'
