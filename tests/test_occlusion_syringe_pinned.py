"""The syringe pumps' occlusion check before an alarm, pinned tick by tick.

The detector's peristaltic changes (probing above one step per tick) and the
relief after an alarm must leave every syringe run identical up to its first
alarm: the soak-year sweep's false-alarm figures were measured on it. Each
case runs a virtual-trial task (simulator/trials/tasks.py) and folds, every
tick until the pump first enters ALARM, the motor position, the occlusion
check's phase, baseline, credit and stored steps and the sensed pressure
into a digest. The pinned digests are those of the firmware the soak ran on;
a change in any of those, on any tick, changes the digest.
"""
import hashlib

import pytest

import simulator.trials.tasks as tasks
from pumphost.codes import S_ALARM

BASE = {'compliance_ul_mmhg': None, 'resistance_mmhg_s_ul': None, 'noise_mmhg': None, 'hours': None}

CASES = {
    # probing rate, stiff catheter, big compliance, every profile at once
    'occ-50-1.77-settle': dict(BASE, bench='occlusion', pump='bd-plastipak-50', rate_ml_h=1.77,
                               compliance_ul_mmhg=3, resistance_mmhg_s_ul=20, noise_mmhg=2.5,
                               profile='mixed', onset='settle', seed=5),
    # a pause and resume, blood-pressure steps, low rate
    'occ-50-0.1-resume': dict(BASE, bench='occlusion', pump='bd-plastipak-50', rate_ml_h=0.1,
                              compliance_ul_mmhg=2, resistance_mmhg_s_ul=5, noise_mmhg=1,
                              profile='steps', onset='resume', seed=7),
    # above the syringe's probe rate: fast path, fill without a knee, hold
    'occ-10-25-fill': dict(BASE, bench='occlusion', pump='bd-plastipak-10', rate_ml_h=25,
                           compliance_ul_mmhg=3, resistance_mmhg_s_ul=20, noise_mmhg=3,
                           profile='steady', onset='fill', seed=3),
    'occ-20-5-syringe': dict(BASE, bench='occlusion', pump='bd-plastipak-20', rate_ml_h=5,
                             compliance_ul_mmhg=1, resistance_mmhg_s_ul=2, noise_mmhg=0.5,
                             profile='drift', onset='syringe', seed=9),
    'soak-50-1.77-drift': dict(BASE, bench='soak', pump='bd-plastipak-50', rate_ml_h=1.77,
                               compliance_ul_mmhg=3, resistance_mmhg_s_ul=20, noise_mmhg=3,
                               profile='drift', hours=3, seed=21),
    'soak-10-0.1-circadian': dict(BASE, bench='soak', pump='bd-plastipak-10', rate_ml_h=0.1,
                                  compliance_ul_mmhg=2, resistance_mmhg_s_ul=10, noise_mmhg=2,
                                  profile='mixed', hours=3, seed=22),
}

PINNED = {
    'occ-10-25-fill': '4aa505b02aa610cc ticks=1151 alarm_tick=1152 probes=0',
    'occ-20-5-syringe': '99bfe371b3818c3a ticks=36931 alarm_tick=36932 probes=0',
    'occ-50-0.1-resume': '05f8b14ec1c5b06f ticks=49114 alarm_tick=49115 probes=2',
    'occ-50-1.77-settle': '20c2b145a913f3a7 ticks=6668 alarm_tick=6669 probes=2',
    'soak-10-0.1-circadian': '7cb118f5fd684843 ticks=108000 alarm_tick=None probes=2',
    'soak-50-1.77-drift': '0415c5282b9f879b ticks=108000 alarm_tick=None probes=15',
}


def _run_digest(monkeypatch, params):
    seen = {'h': hashlib.sha256(), 'ticks': 0, 'alarm_k': None}

    class Tracing(tasks.Simulation):
        @property
        def hook(self):
            return self._traced

        @hook.setter
        def hook(self, fn):
            if fn is None:
                self._traced = None
                return

            def traced(sim, k):
                pump = sim.pump
                if seen['alarm_k'] is None:
                    if pump.fsm.state == S_ALARM:
                        seen['alarm_k'] = k
                    else:
                        o = pump.occlusion
                        seen['h'].update(b'%d %d %d %d %d %d %d;' % (
                            k, pump.hal.motor.position(), o.phase, o.baseline_x10(), o.credit,
                            o.stored_steps, pump.pressure_x10))
                        seen['ticks'] += 1
                return fn(sim, k)
            self._traced = traced

    monkeypatch.setattr(tasks, 'Simulation', Tracing)
    res = tasks.run_task(params)
    assert res['status'] == 'ok', res['error']
    return '%s ticks=%d alarm_tick=%s probes=%d' % (
        seen['h'].hexdigest()[:16], seen['ticks'], seen['alarm_k'], res['probes']), res


@pytest.mark.parametrize('name', sorted(CASES))
def test_syringe_run_before_the_alarm_is_unchanged(monkeypatch, name):
    digest, res = _run_digest(monkeypatch, CASES[name])
    assert digest == PINNED[name]
