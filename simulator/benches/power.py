"""Power-cut bench: `pumpsim bench power --pump PUMP --rate ML_H --cuts N --out DIR`.

One lockstep run of the real firmware (a one-hour course at the rate, paused
for 5 min after 20 min) is the master; the cut instants are N random ticks
of it (seeded), sorted. At each instant the master is cloned (deepcopy of the
whole simulation: plant, storage, clock, firmware) and the clone loses its
power, so every cut costs only what follows it:

  instant  (70%): the power goes between two ticks; steps commanded at the
           last tick and not yet emitted are lost (Simulation.power_cycle)
  torn     (30%): the power goes in the middle of the next non-volatile
           write (journal record, checkpoint slot or program record): a
           random prefix of its bytes lands (SimStorage.cut_at_next_write)

Then the board reboots (new Pump on the same storage and plant) and the
bench checks:
  - after POST: state ALARM, alarm power_interrupted latched, motor idle,
    the same program (digest) restored
  - delivered volume: |restored delivered_nl - delivered_nl in RAM at the
    cut| and |restored steps commanded - steps commanded in RAM| within the
    steps one tick can command (ceil of the rate's steps per tick; the fill
    rate's during the start-up fill); the steps the motor really emitted
    are reported too (worst_steps_vs_motor_emitted)
  - no self-resume: 3 min later still ALARM, the plunger has not moved
  - acknowledge -> PAUSED, resume -> delivering; 60 s later the course has
    gone on (the motor moved, or the start-up fill's overshoot was repaid)
  - every 10th cut: run to COMPLETE; total motor steps emitted against the
    uncut master's (what the course would have been without the cut)

Writes DIR/power.json: counts (ok, failed with reasons), the worst
delivered-volume error in nL and in ticks, the per-kind counts. Exit 1 if
any cut failed.
"""
import copy
import json
import random
import time
from pathlib import Path

from firmware.table import STATE_NAMES, DELIVERING
from simulator.runtime.inproc import Simulation
from simulator.benches.common import bench_scenario
from pumphost.codes import A_POWER_INTERRUPTED, S_ALARM, S_COMPLETE

COURSE_H = 1.0
PAUSE_AT_S = 1200
PAUSE_S = 300
QUIET_S = 180          # no self-resume over this long after the reboot
AFTER_RESUME_S = 60
COMPLETE_EVERY = 10    # every Nth cut runs to the end of the course
TORN_SHARE = 0.3
MAX_WAIT_WRITE_TICKS = 600


def _scenario(pump, rate_ml_h, seed):
    return bench_scenario('bench-power', pump, rate_ml_h, int(COURSE_H * 3600 + PAUSE_S + 1800), seed,
                          volume_ml=round(rate_ml_h * COURSE_H, 6), trace_s=3600, drug='saline',
                          events=[{'at': '%ds' % PAUSE_AT_S, 'command': 'pause'},
                                  {'at': '%ds' % (PAUSE_AT_S + PAUSE_S), 'command': 'resume'}])


def tolerance(sim, pump):
    """Steps one tick may command at the cut (at the start-up fill's rate
    while `pump` was filling, else at the course's), and their volume."""
    st = sim.settings
    rate = sim.rate_nl_h
    if pump.fill.left and not pump.fill.holding:
        rate = max(rate, st.startup_fill_rate_nl_h)
    steps = -(-rate * sim.tick_ms // (3600 * st.step_pl))     # ceil
    return steps, -(-steps * st.step_pl // 1000)


def _until_complete(sim):
    return sim.pump.fsm.state == S_COMPLETE


def _run_to_complete(sim, limit_ticks):
    sim.step(limit_ticks, until=_until_complete)
    return sim.pump.fsm.state == S_COMPLETE


def _cut(clone, torn, rng):
    """Cut the clone's power; returns (kind, pump object before the cut)."""
    old = clone.pump
    if torn:
        clone.hal.storage.cut_at_next_write = rng.random()
        n = 0
        while clone.power_cuts == 0 and n < MAX_WAIT_WRITE_TICKS:
            old = clone.pump
            clone.step(1)
            n += 1
        if clone.power_cuts:
            return 'torn', old
        clone.hal.storage.cut_at_next_write = None
        old = clone.pump
    clone.power_cycle(0.0)
    return 'instant', old


def bench(pump, rate_ml_h, cuts, seed=0, progress=None):
    rng = random.Random(seed)
    sc = _scenario(pump, rate_ml_h, seed)
    # the uncut master, once to the end: course length and total steps
    ref = Simulation(sc, seed=seed)
    ref.boot()
    pos0 = ref.plant.position_steps
    limit = int(sc.duration_s * 1000 / ref.tick_ms)
    if not _run_to_complete(ref, limit):
        raise RuntimeError('master run did not complete')
    k_done = ref.k
    ref_steps = ref.plant.position_steps - pos0
    settings = ref.settings
    tick_ms = ref.tick_ms
    rate_nl_h = ref.rate_nl_h
    per_tick_nl = rate_nl_h * tick_ms / 3.6e6
    tol_steps, tol_nl = tolerance(ref, ref.pump)   # at the course's rate

    instants = sorted(rng.sample(range(20, k_done - 20), cuts))
    master = Simulation(sc, seed=seed)
    master.boot()
    results = []
    worst = {'delivered_nl': 0, 'motor_steps': 0, 'complete_steps': 0}
    t0 = time.perf_counter()
    for i, k in enumerate(instants):
        master.step(k - master.k)
        clone = copy.deepcopy(master)
        kind, old = _cut(clone, rng.random() < TORN_SHARE, rng)
        clone.skip_scripted_events()   # the master's pause is not for the rebooted pump
        r = {'k': clone.k, 'kind': kind, 'state_before': STATE_NAMES[old.fsm.state]}
        reasons = []
        digest = old.program_digest
        ram_dn = old.course.delivered_nl
        emitted = clone.plant.position_steps - pos0
        clone.step(1)   # POST
        p = clone.pump
        if p.fsm.state != S_ALARM:
            reasons.append('boot state %s' % p.state_name())
        if not p.alarms.active[A_POWER_INTERRUPTED]:
            reasons.append('no power_interrupted alarm')
        if clone.hal.motor.pending:
            reasons.append('motor commanded after boot')
        if p.program_digest != digest:
            reasons.append('program not restored (%s)' % p.last_error)
        t_steps, t_nl = tolerance(clone, old)
        e_dn = abs(p.course.delivered_nl - ram_dn)
        e_steps = abs(p.course.steps_commanded - old.course.steps_commanded)
        # information: the motor's own count (a pause or alarm drops the
        # steps of the tick in flight, which the device had counted)
        e_motor = abs(p.course.steps_commanded - emitted)
        worst['motor_vs_emitted'] = max(worst.get('motor_vs_emitted', 0), e_motor)
        r.update(delivered_error_nl=e_dn, steps_error=e_steps, steps_vs_emitted=e_motor)
        if e_dn > t_nl:
            reasons.append('delivered off by %d nL (tolerance %d)' % (e_dn, t_nl))
        if e_steps > t_steps:
            reasons.append('steps commanded off by %d (tolerance %d)' % (e_steps, t_steps))
        if t_steps == tol_steps:   # the worst figures are for the course's rate
            worst['delivered_nl'] = max(worst['delivered_nl'], e_dn)
            worst['motor_steps'] = max(worst['motor_steps'], e_steps)
        else:
            r['during_fill'] = True
        pos = clone.plant.position_steps
        clone.step(int(QUIET_S * 1000 / tick_ms))
        if clone.pump.fsm.state != S_ALARM or clone.plant.position_steps != pos:
            reasons.append('resumed by itself (%s, moved %d steps)' % (
                clone.pump.state_name(), clone.plant.position_steps - pos))
        if clone.pump.acknowledge() or clone.pump.state_name() != 'PAUSED':
            reasons.append('ack: %s (%s)' % (clone.pump.state_name(), clone.pump.last_error))
        elif clone.pump.resume():
            reasons.append('resume refused: %s' % clone.pump.last_error)
        else:
            dn = clone.pump.course.delivered_nl
            pos = clone.plant.position_steps
            clone.step(int(AFTER_RESUME_S * 1000 / tick_ms))
            st = clone.pump.fsm.state
            if not (st in DELIVERING or st == S_COMPLETE):
                reasons.append('after resume: %s' % clone.pump.state_name())
            elif st != S_COMPLETE and not (clone.plant.position_steps > pos
                                           or clone.pump.course.delivered_nl > dn):
                reasons.append('after resume: no delivery')
            if not reasons and i % COMPLETE_EVERY == 0:
                if not _run_to_complete(clone, limit):
                    reasons.append('did not complete (%s)' % clone.pump.state_name())
                else:
                    d = abs((clone.plant.position_steps - pos0) - ref_steps)
                    r['complete_steps_diff'] = d
                    w = 'complete_steps_fill' if r.get('during_fill') else 'complete_steps'
                    worst[w] = max(worst.get(w, 0), d)
        r['reasons'] = reasons
        results.append(r)
        if progress:
            progress(i + 1, cuts)
    failed = [r for r in results if r['reasons']]
    kinds = {}
    states = {}
    for r in results:
        kinds[r['kind']] = kinds.get(r['kind'], 0) + 1
        states[r['state_before']] = states.get(r['state_before'], 0) + 1
    return {
        'pump': pump, 'rate_ml_h': rate_ml_h, 'seed': seed, 'cuts': cuts,
        'ok': len(results) - len(failed), 'failed': len(failed),
        'failures': [{'k': r['k'], 'kind': r['kind'], 'state_before': r['state_before'],
                      'reasons': r['reasons']} for r in failed],
        'kinds': kinds, 'state_before_cut': states,
        'tick_ms': tick_ms, 'step_pl': settings.step_pl,
        'one_tick_nl': round(per_tick_nl, 3), 'tolerance_steps': tol_steps, 'tolerance_nl': tol_nl,
        'worst_delivered_error_nl': worst['delivered_nl'],
        'worst_delivered_error_ticks': round(worst['delivered_nl'] / per_tick_nl, 3),
        # one tick's command is tolerance_steps motor steps: errors in those units
        'worst_delivered_error_tick_commands': round(
            worst['delivered_nl'] * 1000 / settings.step_pl / tol_steps, 3),
        'worst_steps_error': worst['motor_steps'],
        'worst_steps_vs_motor_emitted': worst.get('motor_vs_emitted', 0),
        'cuts_during_fill': sum(1 for r in results if r.get('during_fill')),
        'completed_checks': sum(1 for r in results if 'complete_steps_diff' in r),
        'worst_complete_steps_diff': worst['complete_steps'],
        # a cut during the start-up fill: the fill judges its knee afresh
        # after the reboot, so the fill (not dose) may push a different amount
        'worst_complete_steps_diff_cut_in_fill': worst.get('complete_steps_fill', 0),
        'course_ticks': k_done, 'wall_s': round(time.perf_counter() - t0, 1),
    }


def cmd_power(a):
    import sys
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    def progress(i, n):
        if sys.stderr.isatty() and (i % 10 == 0 or i == n):
            sys.stderr.write('\rcut %d/%d' % (i, n))
            sys.stderr.flush()

    res = bench(a.pump, a.rate, a.cuts, a.seed, progress)
    (out / 'power.json').write_text(json.dumps(res, indent=1) + '\n')
    from simulator.benches.plots import plot_power
    plot_power(out / 'power.png', res)
    print('cuts %d: ok %d, failed %d (instant %d, torn %d)' % (
        res['cuts'], res['ok'], res['failed'], res['kinds'].get('instant', 0),
        res['kinds'].get('torn', 0)))
    print('worst delivered error %d nL = %.3f ticks of nominal volume = %.3f tick commands '
          '(tolerance %d nL); worst steps error %d (tolerance %d)'
          % (res['worst_delivered_error_nl'], res['worst_delivered_error_ticks'],
             res['worst_delivered_error_tick_commands'], res['tolerance_nl'],
             res['worst_steps_error'], res['tolerance_steps']))
    print('written    %s/power.json, power.png' % out)
    return 1 if res['failed'] else 0


def register(bench):
    b = bench.add_parser('power', help='power cuts at random instants: recovery, delivered volume known, no self-resume')
    b.add_argument('--pump', required=True, help='configs/pumps name or a YAML path')
    b.add_argument('--rate', type=float, required=True, help='rate, mL/h')
    b.add_argument('--cuts', type=int, default=1000, help='power cuts (default 1000)')
    b.add_argument('--seed', type=int, default=0)
    b.add_argument('--out', required=True, help='output directory')
    b.set_defaults(func=cmd_power)
