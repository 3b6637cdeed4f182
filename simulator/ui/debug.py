"""Debugger vocabulary shared by `pumpsim shell` and the dashboard: the
figures one can read or watch (the detectors' internals among them),
compound durations, and breakpoint conditions for `run until`.

A condition is text:
    alarm [NAME]            an alarm (that one) is newly raised
    state STATE             the device is in STATE
    probe                   the occlusion check starts an active probe
    journal WORD            a new journal record whose decoded text has WORD
                            (e.g. `journal occlusion`, `journal relief`)
    QUANTITY OP NUMBER      e.g. `pressure > 150`, `baseline >= 95`
"""
import operator
import re

from pumphost import catalog
from pumphost.codes import N_ALARMS, S_RUNNING
from pumphost.config.schema import parse_duration_s
from firmware.table import STATE_NAMES
from simulator.plant import faults

OPS = {'<': operator.lt, '<=': operator.le, '>': operator.gt, '>=': operator.ge,
       '==': operator.eq, '!=': operator.ne}

OCCLUSION_PHASES = ('settle', 'monitor', 'probe push', 'probe hold')
PROBE_PUSH = 2

QUANTITIES = {
    'time_s': 'simulated seconds since boot',
    'delivered': 'mL that left the catheter (patient side)',
    'device_delivered': 'mL the device counted from its steps',
    'plunger': 'mL displaced by the plunger',
    'pressure': 'line pressure, mmHg (plant)',
    'sensed': 'pressure the device sensed, mmHg',
    'rate': 'set rate while RUNNING, mL/h (0 otherwise)',
    'position': 'motor step counter (what the driver emitted)',
    'aspirated': 'uL drawn back from the patient (must stay 0)',
    'filtered': 'occlusion check: fast-filtered pressure, mmHg',
    'slow': 'occlusion check: slow-filtered pressure, mmHg',
    'baseline': 'occlusion check: learned baseline, mmHg',
    'above_baseline': 'occlusion check: slow pressure above the baseline, mmHg',
    'stored_steps': 'occlusion check: steps pushed since the line was last at its baseline',
    'probe_phase': 'occlusion check: 0 settle, 1 monitor, 2 probe push, 3 probe hold',
    'bubble': 'air monitor: current bubble, uL',
    'air_window': 'air monitor: air in the rolling window, uL',
}

_PART = re.compile(r'(\d+(?:\.\d+)?)(ms|s|min|h|d)')


class DebugError(ValueError):
    """A bad duration, quantity or condition: one line naming it."""


def parse_duration(word):
    """Seconds from '30s', '5min', '2h', or a compound '3min30s', '1h30min'."""
    try:
        return parse_duration_s(word)
    except ValueError:
        pass
    pos = 0
    total = 0.0
    units = []
    for m in _PART.finditer(word):
        if m.start() != pos:
            break
        total += parse_duration_s(m.group(0))
        units.append(m.group(2))
        pos = m.end()
    if not units or pos != len(word) or len(set(units)) != len(units):
        raise DebugError('%r is not a duration (a number with a unit: ms s min h d, '
                         'or several, e.g. 30s, 5min, 3min30s, 1h30min)' % word)
    return total


def occlusion_internals(pump):
    """The occlusion check's figures, mmHg (read through its public methods)."""
    occ = pump.occlusion
    slow_x10, ref_x10, phase_ms = occ.internals()
    base_x10 = occ.baseline_x10()
    return {
        'phase': OCCLUSION_PHASES[occ.phase] if 0 <= occ.phase < 4 else str(occ.phase),
        'phase_s': phase_ms / 1000.0,
        'learned': bool(occ.learned),
        'filtered_mmhg': occ.filtered / 10.0,
        'slow_mmhg': slow_x10 / 10.0,
        'baseline_mmhg': base_x10 / 10.0,
        'above_baseline_mmhg': (slow_x10 - base_x10) / 10.0,
        'suspect_above_mmhg': occ.suspect / 10.0,
        'fast_alarm_above_mmhg': occ.delta / 10.0,
        'probe_height_mmhg': occ.probe / 10.0,
        'probe_reference_mmhg': ref_x10 / 10.0,
        'stored_steps': occ.stored_steps,
        'probe_credit_steps': occ.credit,
        'relief_left_steps': occ.relief_left,
    }


def air_internals(pump):
    air = pump.air
    return {
        'bubble_ul': air.bubble_nl / 1000.0,
        'bubble_limit_ul': air.limit_nl / 1000.0,
        'window_ul': air.window_nl / 1000.0,
        'window_limit_ul': air.acc_limit_nl / 1000.0,
    }


def figures(sim, k=None):
    """Every QUANTITY of the simulation now (`k`: the tick just simulated,
    when asked from inside a step, where sim.k is not yet updated)."""
    pump, plant = sim.pump, sim.plant
    occ = pump.occlusion
    slow_x10, _, _ = occ.internals()
    base_x10 = occ.baseline_x10()
    return {
        'time_s': (sim.k if k is None else k) * sim.tick_ms / 1000.0,
        'delivered': plant.delivered_ul / 1000.0,
        'device_delivered': pump.course.delivered_nl / 1e6,
        'plunger': plant.pushed_ul / 1000.0,
        'pressure': plant.pressure_mmhg,
        'sensed': pump.pressure_x10 / 10.0,
        'rate': pump.course.rate_nl_h / 1e6 if pump.fsm.state == S_RUNNING else 0.0,
        'position': float(plant.position_steps),
        'aspirated': plant.aspirated_ul,
        'filtered': occ.filtered / 10.0,
        'slow': slow_x10 / 10.0,
        'baseline': base_x10 / 10.0,
        'above_baseline': (slow_x10 - base_x10) / 10.0,
        'stored_steps': float(occ.stored_steps),
        'probe_phase': float(occ.phase),
        'bubble': pump.air.bubble_nl / 1000.0,
        'air_window': pump.air.window_nl / 1000.0,
    }


def alarm_code(name):
    if name not in catalog.ALARM_NAMES[1:]:
        raise DebugError('unknown alarm %r (alarms: %s)' % (name, ', '.join(catalog.ALARM_NAMES[1:])))
    return catalog.ALARM_NAMES.index(name)


class Condition:
    """A breakpoint. `arm(sim)` notes where we are; `hit(sim)` is True once
    the condition holds. `on_change`: it can only become true when the
    device's state or alarms change, so it is asked only then (fast);
    otherwise after every tick."""

    def __init__(self, text, arm, hit, on_change=False, kind=''):
        self.text = text
        self._arm = arm
        self.hit = hit
        self.on_change = on_change
        self.kind = kind
        self.k = None     # the tick being checked (run_until sets it)

    def arm(self, sim):
        self._arm(sim)


def parse_condition(words, describe_record):
    """Condition from words (`describe_record(ev, a, b)` decodes journal
    records for `journal WORD`). DebugError names what is wrong."""
    usage = ('alarm [NAME] | state STATE | probe | journal WORD | QUANTITY OP NUMBER '
             '(quantities: %s)' % ', '.join(QUANTITIES))
    if not words:
        raise DebugError('no condition (%s)' % usage)
    kind = words[0]
    text = ' '.join(words)
    seen = {}
    if kind == 'alarm':
        if len(words) > 2:
            raise DebugError('%r not understood (alarm [NAME])' % text)
        codes = [alarm_code(words[1])] if len(words) == 2 else list(range(1, N_ALARMS))

        def arm(sim):
            seen['before'] = bytes(sim.pump.alarms.active)

        def hit(sim):
            active, before = sim.pump.alarms.active, seen['before']
            return any(active[c] and not before[c] for c in codes)
        return Condition(text, arm, hit, on_change=True, kind='alarm')
    if kind == 'state':
        if len(words) != 2 or words[1].upper() not in STATE_NAMES:
            raise DebugError('%r is not a state (states: %s)' % (' '.join(words[1:]), ', '.join(STATE_NAMES)))
        target = STATE_NAMES.index(words[1].upper())
        return Condition('state %s' % STATE_NAMES[target], lambda sim: None,
                         lambda sim: sim.pump.fsm.state == target, on_change=True, kind='state')
    if kind == 'probe':
        if len(words) != 1:
            raise DebugError('probe takes no argument (got %r)' % ' '.join(words[1:]))

        def arm(sim):
            seen['phase'] = sim.pump.occlusion.phase

        def hit(sim):
            ph = sim.pump.occlusion.phase
            was, seen['phase'] = seen['phase'], ph
            return ph == PROBE_PUSH and was != PROBE_PUSH
        return Condition(text, arm, hit)
    if kind == 'journal':
        if len(words) != 2:
            raise DebugError('journal needs one word to look for in new records (e.g. journal occlusion)')
        word = words[1].lower()

        def arm(sim):
            seen['pump'] = sim.pump
            seen['seq'] = sim.pump.journal.next_seq

        def hit(sim):
            j = sim.pump.journal
            if sim.pump is not seen['pump']:   # rebooted: a new journal reader
                seen['pump'] = sim.pump
            if j.next_seq == seen['seq']:
                return False
            first = seen['seq']
            seen['seq'] = j.next_seq
            for seq, _t, ev, a, b in j.records():
                if seq >= first and word in describe_record(ev, a, b).lower():
                    return True
            return False
        return Condition(text, arm, hit)
    if kind in QUANTITIES:
        if len(words) != 3 or words[1] not in OPS:
            raise DebugError('%r: QUANTITY OP NUMBER (OP: %s)' % (text, ' '.join(OPS)))
        try:
            ref = float(words[2])
        except ValueError:
            raise DebugError('%r is not a number' % words[2])
        op = OPS[words[1]]
        cond = Condition(text, lambda sim: None, None, kind='quantity')
        cond.hit = lambda sim: op(figures(sim, cond.k)[kind], ref)
        return cond
    raise DebugError('%r not understood (%s)' % (text, usage))


def run_until(sim, cond, max_ticks, every=None):
    """Step until `cond` holds or max_ticks. `every(sim, k)`, if given, is
    called after each tick. Returns True if hit."""
    cond.arm(sim)
    saved = sim.hook
    if cond.on_change and every is None:
        return sim.step(max_ticks, until=cond.hit)

    def hook(s, k):
        if saved is not None and saved(s, k):
            return True
        if every is not None:
            every(s, k)
        cond.k = k
        return cond.hit(s)
    sim.hook = hook
    try:
        return sim.step(max_ticks)
    finally:
        sim.hook = saved
        cond.k = None


def state_name(i):
    return STATE_NAMES[i] if 0 <= i < len(STATE_NAMES) else 'state_%d' % i


def fault_params(kind, name, raw):
    """A fault's parameters as a page or a line gives them (text) in the
    fault's own types: text where its default is text, else a number or a
    duration. DebugError names the parameter and what it takes."""
    defaults = faults.FAULTS[name].defaults
    params = {}
    for k, v in raw.items():
        if k not in defaults:
            raise DebugError('%s %s: no parameter %r (allowed: %s)' % (
                kind, name, k, ', '.join(sorted(defaults)) or 'none'))
        if isinstance(defaults[k], str):
            params[k] = str(v)
            continue
        try:
            params[k] = float(v)
        except (TypeError, ValueError):
            try:
                params[k] = parse_duration(str(v))
            except DebugError:
                raise DebugError('%s %s: %s=%r is not a number' % (kind, name, k, v))
    return params
