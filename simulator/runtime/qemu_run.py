"""`pumpsim run --runtime qemu SCENARIO`: a scenario with the firmware image on
the emulated board (simulator/runtime/qemu.py), the plant here, in lockstep.

As the in-process runner (simulator/runtime/inproc.py) does: the POST tick, then the
nurse programs and starts the scenario's course at tick 0, here through the
serial protocol (PumpClient: load, confirm, start, answered between ticks),
then the ticks with the scenario's plant faults and commands at their
times. The device's alarms are read over the bridge (a query, not the
serial line) whenever its state or its LEDs show something not seen since
the alarm set last changed, so an alarm is timed at the tick it appears.

Not supported here (one line, exit status 2): power faults and courses that
need a syringe change.
"""
import json
import time
from pathlib import Path

from pumphost.catalog import alarm_name, alarm_priority_name
from pumphost.client import PumpClient, TEST_KEY
from pumphost.codes import K_SYRINGE
from simulator.plant import faults
from simulator.runtime.bridge import LockstepPort


class RunError(Exception):
    """The scenario cannot run on this runtime; one line for the user."""


def _course(sim):
    """The program the in-process runner's nurse loads: the scenario's
    compiled program (over the link the pump takes only programs that name
    their drugs)."""
    compiled = getattr(sim.scenario, 'compiled', None)
    if compiled is None:
        raise RunError('the scenario names no drug (program.drug): the pump takes programs '
                       'over its serial link only with their drugs')
    prog = compiled.program
    if any(s[0] == K_SYRINGE for s in prog.steps) or \
            sim.course_left_ml - sim.usable_ml > 1e-6:
        raise RunError('the course needs a syringe change (%.3f mL, %.3f mL usable): not '
                       'supported with --runtime qemu' % (sim.course_left_ml, sim.usable_ml))
    return prog


def run(scenario, seed=None, until_s=None, elf=None, progress=None):
    from simulator.runtime.qemu import QemuDevice
    for _t, _tick, kind, name, _p in scenario.events:
        if kind == 'inject' and name in faults.POWER_FAULTS:
            raise RunError('event %s %s: power faults are not supported with --runtime qemu'
                           % (kind, name))
    from simulator.runtime.inproc import Simulation
    prog = _course(Simulation(scenario, seed=seed))   # refused before qemu starts
    wall0 = time.monotonic()
    dev = QemuDevice(scenario, elf=elf, seed=seed, plant_in_post=False)
    try:
        return _run(dev, prog, scenario, until_s, wall0, progress)
    finally:
        dev.close()


def _run(dev, prog, scenario, until_s, wall0, progress):
    sim = dev.sim
    tick_ms = dev.tick_ms
    port = LockstepPort(dev)
    client = PumpClient(port=port, key=TEST_KEY, timeout=30.0, retries=0)
    review = client.load_program(prog)
    client.confirm(review['program_hash'])
    client.start()
    events = list(scenario.events)
    ev_ticks = [int(round(e[0] * 1000 / tick_ms)) for e in events]
    ev_i = 0
    n_ticks = int(round((until_s or scenario.duration_s) * 1000 / tick_ms))
    alarms = []
    log = [{'t_s': 0.0, 'event': 'program', 'steps': [list(s) for s in prog.steps]}]
    active = set()
    seen = set()
    last = None
    ticks_wall0 = time.monotonic()
    for k in range(1, n_ticks + 1):
        port.buf.clear()                 # telemetry: not read by this runner
        dev.tick()
        while ev_i < len(events) and ev_ticks[ev_i] == k:
            _, _, kind, name, params = events[ev_i]
            ev_i += 1
            entry = {'t_s': round(k * tick_ms / 1000.0, 1), 'event': kind, 'name': name}
            if kind == 'inject':
                faults.inject(dev.plant, name, **params)
            elif kind == 'clear':
                faults.clear(dev.plant, name, **params)
            else:
                cmd = {'ack': client.ack_alarm, 'pause': client.pause, 'resume': client.resume,
                       'stop': client.stop, 'start': client.start}[name]
                try:
                    cmd()
                    entry['result'] = 'ok'
                except Exception as e:   # the device's refusal, as the in-process log keeps it
                    entry['result'] = str(e)
            log.append(entry)
        look = (dev.state, tuple(dev.hal.indicators.leds))
        if look != last:
            last = look
            if look not in seen:
                now = set(dev.query()['alarms'])
                for code in sorted(now - active):
                    alarms.append({'t_s': round(k * tick_ms / 1000.0, 1),
                                   'code': alarm_name(code),
                                   'priority': alarm_priority_name(code),
                                   'pressure_mmhg': round(dev.plant.pressure_mmhg, 1),
                                   'state': dev.state_name()})
                if now != active:
                    seen.clear()
                active = now
                seen.add(look)
        if progress and k % 36000 == 0:
            progress(k, n_ticks)
    wall_ticks = time.monotonic() - ticks_wall0
    status = client.status()
    q = dev.query()
    sim_s = n_ticks * tick_ms / 1000.0
    return {
        'scenario': scenario.name,
        'scenario_file': str(scenario.path),
        'runtime': 'qemu',
        'machine': q.get('machine'),
        'pump': scenario.pump.name,
        'seed': sim.seed,
        'delivered_ml': round(dev.plant.delivered_ul / 1000.0, 6),
        'plunger_ml': round(dev.plant.pushed_ul / 1000.0, 6),
        'device_delivered_ml': round(status['delivered_nl'] / 1e6, 6),
        'final_state': dev.state_name(),
        'alarms': alarms,
        'events': log,
        'sim_seconds': sim_s,
        'wall_seconds': round(time.monotonic() - wall0, 1),
        'sim_to_wall': round(sim_s / wall_ticks, 1) if wall_ticks else None,
        'device_heap_free': q['mem_free'],
        'device_heap_alloc': q['mem_alloc'],
        'tick_ms': tick_ms,
    }


def write(out, summary):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'summary.json').write_text(json.dumps(summary, indent=1) + '\n')
    return out


def human(s):
    lines = ['scenario   %s (%s, seed %d), runtime qemu (%s)' % (
        s['scenario'], s['pump'], s['seed'], s['machine']),
        'delivered  %.3f mL to the patient (plunger %.3f mL, device count %.3f mL)' % (
            s['delivered_ml'], s['plunger_ml'], s['device_delivered_ml']),
        'final      %s' % s['final_state']]
    for a in s['alarms']:
        lines.append('alarm      %-24s %-6s at %10.1f s (%.1f mmHg, %s)' % (
            a['code'], a['priority'], a['t_s'], a['pressure_mmhg'], a['state']))
    lines.append('simulated  %.0f s in %.0f s wall (%.1fx real time)' % (
        s['sim_seconds'], s['wall_seconds'], s['sim_to_wall'] or 0))
    return '\n'.join(lines)
