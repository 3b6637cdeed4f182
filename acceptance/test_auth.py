"""Authentication of therapy commands: forged, replayed, stale, unsigned."""
import pytest

from acceptance.helpers import continuous, last_counter, raw_request, PAUSED, READY, RUNNING
from protocol import codes as W


def _ready(dut):
    review = dut.program([continuous(20, 2.0)])
    dut.client.confirm(review['program_hash'])
    assert dut.status()['state'] == READY


def _refused_start(dut, reason, **kw):
    d0 = dut.status()['device_ml']
    t, d, _tr, _seq = raw_request(dut, W.START, **kw)
    assert t == W.NAK, 'START answered with %d, not a NAK' % t
    dut.record('NAK reason', d['reason'])
    assert d['reason'] == reason
    dut.wait(30)
    s = dut.status()
    assert s['state'] == READY and s['device_ml'] == d0, 'the refused START moved the pump'


@pytest.mark.smoke
@pytest.mark.req('REQ-AUT-01')
def test_forged_command_refused(dut):
    """START signed with another key: NAK bad auth, nothing moves."""
    _ready(dut)
    _refused_start(dut, W.NAK_BAD_AUTH, key=b'not-the-pump-key-not-the-pump-k!')


@pytest.mark.req('REQ-AUT-02')
def test_replayed_counter_refused(dut):
    """START carrying the last accepted counter again: NAK replay."""
    _ready(dut)
    _refused_start(dut, W.NAK_REPLAY, counter=last_counter(dut))


@pytest.mark.req('REQ-AUT-02')
def test_stale_counter_refused(dut):
    """START carrying an older counter: NAK stale counter."""
    _ready(dut)
    _refused_start(dut, W.NAK_STALE_COUNTER, counter=max(1, last_counter(dut) - 2))


@pytest.mark.req('REQ-AUT-02')
def test_captured_start_replayed_later_does_nothing(dut):
    """A START captured off the wire and sent again after the therapy was
    stopped and a new program confirmed does not start the pump."""
    _ready(dut)
    t, _d, trailer, seq = raw_request(dut, W.START)
    assert t == W.ACK
    dut.wait(10)
    dut.client.stop()
    for _ in range(6):       # more traffic, as a real session has
        dut.client.status()
    _ready(dut)
    t, d, _tr, _seq = raw_request(dut, W.START, trailer=trailer, seq=seq)
    dut.wait(30)
    s = dut.status()
    dut.record('answer to the replayed frame', 'NAK %d' % d['reason'] if t == W.NAK else t)
    assert s['state'] == READY, 'a replayed START changed the state to %s' % s['state_name']


@pytest.mark.req('REQ-AUT-03')
def test_unsigned_therapy_command_refused(dut):
    """START without an auth trailer: NAK auth required."""
    _ready(dut)
    _refused_start(dut, W.NAK_AUTH_REQUIRED, signed=False)


@pytest.mark.req('REQ-AUT-04')
def test_pause_and_stop_need_no_signature(dut):
    """Stopping delivery is always possible: PAUSE and STOP are accepted unsigned."""
    dut.start_program([continuous(20, 2.0)])
    dut.wait(30)
    t, _d, _tr, _s = raw_request(dut, W.PAUSE, signed=False)
    assert t == W.ACK
    d0 = dut.status()['device_ml']
    assert dut.last['state'] == PAUSED
    dut.wait(60)
    assert dut.status()['device_ml'] == d0
    t, _d, _tr, _s = raw_request(dut, W.STOP, signed=False)
    assert t == W.ACK
    assert dut.status()['state'] not in (RUNNING, PAUSED)
