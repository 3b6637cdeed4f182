"""Alarm acknowledge and audio pause (IEC 60601-1-8)."""
import pytest

from acceptance.helpers import continuous, ALARM
from pumphost import codes as C


def _syringe_alarm(dut):
    dut.start_program([continuous(20, 5.0)])
    dut.wait(30)
    dut.inject('syringe_removed')
    s = dut.wait_for_alarm(C.A_SYRINGE_REMOVED, within_s=30)
    assert s is not None, 'no syringe-removed alarm within 30 s'
    return s


@pytest.mark.smoke
@pytest.mark.req('REQ-ALM-01')
@pytest.mark.needs('fault:syringe_removed')
def test_acknowledge_does_not_clear_a_present_condition(dut):
    """Acknowledging while the syringe is still out: the pump stays in ALARM, stopped."""
    _syringe_alarm(dut)
    dut.client.ack_alarm()
    dut.wait(60)
    s = dut.status()
    assert s['state'] == ALARM
    d0 = s['device_ml']
    dut.wait(120)
    assert dut.status()['device_ml'] == d0


@pytest.mark.req('REQ-ALM-02')
@pytest.mark.needs('fault:syringe_removed', 'audio')
def test_audio_pause_is_bounded(dut):
    """The alarm sounds; AUDIO_PAUSE 60 s silences it for that long only,
    then it sounds again while the condition lasts."""
    _syringe_alarm(dut)
    assert dut.audible_during(10), 'high-priority alarm not audible'
    dut.client.audio_pause(60)
    dut.mark('audio pause 60 s')
    assert not dut.audible_during(55), 'audible during the audio pause'
    assert dut.audible_during(30), 'sound did not come back after the audio pause'
    dut.record('audio pause honoured', '60 s')
