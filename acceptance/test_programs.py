"""Programs: the device's own drug limits, and the two-step confirmation."""
import pytest

from acceptance.helpers import (continuous, drug_entry, FLOXURIDINE, HEPARIN, IDLE, READY,
                                REVIEW, RUNNING)
from pumphost import codes as C
from pumphost.client import Nak
from protocol import codes as W


def _refused(dut, steps, drugs=(), flags=0):
    d0 = dut.status()['device_ml']
    with pytest.raises(Nak) as e:
        dut.program(steps, drugs, flags)
    s = dut.status()
    assert s['state'] == IDLE, 'a refused program left the device in %s' % s['state_name']
    assert s['device_ml'] == d0
    dut.record('refusal', e.value.reason_name)
    rejects = dut.journal_events(C.EV_REJECT)
    assert rejects, 'refusal not journaled'
    return e.value


@pytest.mark.smoke
@pytest.mark.req('REQ-LIM-01')
def test_drug_hard_rate_limit_refused(dut):
    """FUDR at 12 mL/h (hard limit 10 mL/h in the device library) is refused."""
    _refused(dut, [continuous(12, 1.0)], [drug_entry(FLOXURIDINE, 5.0)])


@pytest.mark.req('REQ-LIM-02')
def test_forged_drug_limits_refused(dut):
    """A host that raises FUDR's hard rate limit in the program it sends is refused."""
    _refused(dut, [continuous(12, 1.0)], [drug_entry(FLOXURIDINE, 5.0, l4=2.0)])


@pytest.mark.req('REQ-LIM-03')
def test_wrong_concentration_refused(dut):
    """FUDR labelled at 50 mg/mL (outside 0.1-10 mg/mL, e.g. a 5-FU bag
    taken for FUDR) and heparin at 50,000 U/mL are refused."""
    _refused(dut, [continuous(1, 1.0)], [drug_entry(FLOXURIDINE, 50.0)])
    _refused(dut, [continuous(1, 1.0)], [drug_entry(HEPARIN, 50000.0)])


@pytest.mark.req('REQ-LIM-03')
def test_unknown_drug_refused(dut):
    """A drug id the device library does not have is refused."""
    entry = (99,) + drug_entry(FLOXURIDINE, 5.0)[1:]
    _refused(dut, [continuous(1, 1.0)], [entry])


@pytest.mark.req('REQ-LIM-04')
def test_soft_limit_needs_override_and_is_journaled(dut):
    """FUDR at 3 mL/h (soft 2, hard 10): refused without the override flag;
    with it the program loads and the override is journaled."""
    _refused(dut, [continuous(3, 1.0)], [drug_entry(FLOXURIDINE, 5.0)])
    dut.program([continuous(3, 1.0)], [drug_entry(FLOXURIDINE, 5.0)], flags=C.FLAG_OVERRIDE)
    assert dut.status()['state'] == REVIEW
    assert dut.journal_events(C.EV_OVERRIDE), 'soft-limit override not journaled'


@pytest.mark.req('REQ-LIM-05')
def test_pump_rate_limit_refused(dut):
    """Whatever the drug, a rate above the pump's maximum is refused."""
    _refused(dut, [continuous(500, 1.0)])


@pytest.mark.smoke
@pytest.mark.req('REQ-CNF-01')
def test_start_without_confirmation_refused(dut):
    """Loaded but not confirmed: START is refused and nothing moves."""
    d0 = dut.status()['device_ml']
    dut.program([continuous(20, 1.0)])
    with pytest.raises(Nak):
        dut.client.start()
    dut.wait(60)
    s = dut.status()
    assert s['state'] == REVIEW and s['device_ml'] == d0


@pytest.mark.req('REQ-CNF-01')
def test_confirmation_of_another_program_refused(dut):
    """CONFIRM with a hash that is not the loaded program's is refused
    (NAK hash mismatch) and START stays refused."""
    review = dut.program([continuous(20, 1.0)])
    wrong = bytes(b ^ 0xFF for b in review['program_hash'])
    with pytest.raises(Nak) as e:
        dut.client.confirm(wrong)
    assert e.value.reason == W.NAK_HASH_MISMATCH
    with pytest.raises(Nak):
        dut.client.start()
    assert dut.status()['state'] == REVIEW


@pytest.mark.req('REQ-CNF-02')
def test_review_shows_what_was_loaded(dut):
    """The review the device returns (what the nurse confirms) is the program sent."""
    steps = [continuous(20, 1.0), continuous(2, 0.5)]
    review = dut.program(steps)
    shown = [(s['kind'], s['rate_nl_h'], s['volume_nl']) for s in review['steps']]
    assert shown == [(k, r, v) for k, r, v, *_ in steps]
    assert review['total_volume_nl'] == 1500000


@pytest.mark.req('REQ-CNF-03')
def test_new_program_needs_new_confirmation(dut):
    """Confirmed, then another program is loaded: it must be confirmed again."""
    review = dut.program([continuous(20, 1.0)])
    dut.client.confirm(review['program_hash'])
    assert dut.status()['state'] == READY
    dut.program([continuous(40, 1.0)])
    assert dut.status()['state'] == REVIEW
    with pytest.raises(Nak):
        dut.client.start()
    assert dut.status()['state'] != RUNNING
