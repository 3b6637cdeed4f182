"""The shell's `plot`: the session so far, zoomed on it.

Time in the unit that fits the session (s, min, h or d); the volume panel
scaled to what was delivered and programmed by now, not the whole course;
the device's states as background bands; injections, clears, alarms,
acknowledgements, resumes and other commands marked where they happened.
"""
from firmware.table import DELIVERING, STATE_NAMES

STATE_COLOURS = {
    'RUNNING': '#43a047', 'KVO': '#7cb342', 'BOLUS': '#00897b', 'DWELL': '#90a4ae',
    'PAUSED': '#fbc02d', 'ALARM': '#e53935', 'PROGRAMMED': '#8e24aa', 'IDLE': '#b0bec5',
    'COMPLETE': '#1e88e5', 'SYRINGE_CHANGE': '#fb8c00',
}
EVENT_COLOURS = {'inject': '#6a1b9a', 'clear': '#2e7d32', 'alarm': '#d50000', 'ack': '#1565c0',
                 'resume': '#1565c0', 'command': '#455a64'}
DELIVERING_NAMES = {STATE_NAMES[s] for s in DELIVERING}


def time_unit(span_s):
    if span_s < 180:
        return 1.0, 's'
    if span_s < 3 * 3600:
        return 60.0, 'min'
    if span_s < 4 * 86400:
        return 3600.0, 'h'
    return 86400.0, 'd'


def state_bands(trace):
    """[(t0, t1, state)] from the trace rows (time, state, ...)."""
    bands = []
    for row in trace:
        t, st = row[0], row[1]
        if bands and bands[-1][2] == st:
            bands[-1][1] = t
        else:
            if bands:
                bands[-1][1] = t
            bands.append([t, t, st])
    return bands


def session_marks(sim):
    """[(t_s, kind, label)] of what was done to the pump and what it raised."""
    marks = []
    for e in sim.events_log:
        if e['event'] in ('inject', 'clear'):
            marks.append((e['t_s'], e['event'], '%s %s' % (e['event'], e['name'])))
        elif e['event'] == 'command':
            kind = e['name'] if e['name'] in ('ack', 'resume') else 'command'
            marks.append((e['t_s'], kind, '%s%s' % (
                e['name'], '' if e.get('result') == 'ok' else ' (%s)' % e.get('result'))))
    for a in sim.alarms:
        marks.append((a['t_s'], 'alarm', a['code']))
    marks.sort(key=lambda m: m[0])
    merged = []     # one mark per instant: "ack, resume" rather than two labels on one line
    for t, kind, label in marks:
        if merged and abs(merged[-1][0] - t) < 1e-6:
            merged[-1] = (t, merged[-1][1], merged[-1][2] + ', ' + label)
        else:
            merged.append((t, kind, label))
    return merged


def course_ml(sim, t_s, t0):
    sc = sim.scenario
    return 0.0 if t0 is None or t_s < t0 else min(sc.volume_ml, sc.rate_ml_h * (t_s - t0) / 3600.0)


def plot_session(path, sim):
    """Write the plot; returns what it chose (time unit, volume axis top,
    the marks) for the caller and the tests."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    trace = sim.trace
    t_end = max(trace[-1][0], 1e-3)
    div, unit = time_unit(t_end)
    x = [r[0] / div for r in trace]
    t0 = next((r[0] for r in trace if r[1] in DELIVERING_NAMES), None)
    course = [course_ml(sim, r[0], t0) for r in trace]

    fig, (ax_p, ax_v) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True,
                                     gridspec_kw={'height_ratios': [3, 2]})
    ax_p.plot(x, [r[5] for r in trace], lw=0.6, color='0.6', label='sensed (device)')
    ax_p.plot(x, [r[4] for r in trace], lw=1.0, color='C3', label='line (plant)')
    ax_p.set_ylabel('pressure [mmHg]')
    ax_v.plot(x, [r[3] for r in trace], color='C0', lw=1.6, label='delivered (patient side)')
    ax_v.plot(x, [r[7] for r in trace], color='C9', lw=0.8, label='device count')
    ax_v.plot(x, course, color='0.5', lw=0.9, ls='--', label='programmed course')
    top = max([r[3] for r in trace] + [r[7] for r in trace] + course + [1e-3])
    ax_v.set_ylim(0, top * 1.15)
    ax_v.set_ylabel('volume [mL]')
    ax_v.set_xlabel('time since boot [%s]' % unit)
    ax_v.set_xlim(0, t_end / div)

    seen = set()
    for a, b, st in state_bands(trace):
        for ax in (ax_p, ax_v):
            ax.axvspan(a / div, max(b, a) / div, color=STATE_COLOURS.get(st, '0.8'), alpha=0.12, lw=0,
                       label=None if st in seen or ax is ax_v else st)
        seen.add(st)
    y_top = ax_p.get_ylim()[1]
    for t, kind, label in session_marks(sim):
        c = EVENT_COLOURS.get(kind, 'k')
        for ax in (ax_p, ax_v):
            ax.axvline(t / div, color=c, lw=0.9, ls=':')
        ax_p.annotate(label, (t / div, y_top), fontsize=7, color=c, rotation=90, va='top',
                      ha='right')
    ax_p.legend(loc='lower right', fontsize=7, ncol=3)
    ax_v.legend(loc='upper left', fontsize=8)
    sc = sim.scenario
    fig.suptitle('%s: %s, t = 0..%.4g %s, state %s' % (sc.pump.name, sc.name, t_end / div, unit,
                                                      sim.pump.state_name()), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return {'unit': unit, 'volume_top_ml': ax_v.get_ylim()[1], 'marks': session_marks(sim)}
