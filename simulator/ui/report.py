"""Writing a run's results: summary.json, trace.csv and trace.png."""
import csv
import json
from pathlib import Path

from simulator.runtime.inproc import TRACE_COLUMNS


def write_run(out_dir, summary, trace):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'summary.json').write_text(json.dumps(summary, indent=2) + '\n')
    with open(out / 'trace.csv', 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(TRACE_COLUMNS)
        w.writerows(trace)
    plot_trace(out / 'trace.png', summary, trace)
    plot_zoom(out / 'zoom.png', summary, trace)
    return out


def plot_trace(path, summary, trace):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    t_h = [r[0] / 3600.0 for r in trace]
    fig, axes = plt.subplots(3, 1, figsize=(10, 7.5), sharex=True)
    ax_p, ax_r, ax_v = axes
    ax_p.plot(t_h, [r[5] for r in trace], lw=0.6, color='0.6', label='sensed (device)')
    ax_p.plot(t_h, [r[4] for r in trace], lw=1.0, color='C3', label='line (plant)')
    ax_p.set_ylabel('pressure [mmHg]')
    ax_p.legend(loc='upper left', fontsize=8)
    ax_r.step(t_h, [r[2] for r in trace], where='post', color='C0')
    ax_r.set_ylabel('set rate [mL/h]')
    ax_v.plot(t_h, [r[3] for r in trace], color='C2', label='delivered (patient side)')
    ax_v.plot(t_h, [r[6] for r in trace], color='C1', lw=0.8, ls='--', label='plunger')
    ax_v.axhline(summary['programmed_ml'], color='0.5', lw=0.8, ls=':', label='programmed')
    ax_v.set_ylabel('volume [mL]')
    ax_v.set_xlabel('time [h]')
    ax_v.legend(loc='upper left', fontsize=8)
    mark_states(ax_r, trace)
    mark_events(axes, summary)
    colors = {'high': 'red', 'medium': 'orange', 'low': 'cyan'}
    for a in summary['alarms']:
        for ax in axes:
            ax.axvline(a['t_s'] / 3600.0, color=colors.get(a['priority'], 'k'), lw=1, alpha=0.8)
        ax_p.annotate(a['code'], (a['t_s'] / 3600.0, ax_p.get_ylim()[1]), fontsize=8,
                      color=colors.get(a['priority'], 'k'), rotation=90, va='top', ha='right')
    fig.suptitle('%s: %s, final state %s' % (summary['pump'], summary['scenario'], summary['final_state']),
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


STATE_COLORS = {'PAUSED': '#ffe9a8', 'ALARM': '#ffb3b3', 'COMPLETE': '#d5f5d5', 'KVO': '#e3f0ff',
                'BOLUS': '#f3d9ff', 'DWELL': '#eeeeee', 'SYRINGE_CHANGE': '#ffd9b3',
                'FAULT': '#ff8080', 'PROGRAMMED': '#f0f0f0', 'IDLE': '#f7f7f7'}


def mark_states(ax, trace):
    """Bands behind the rate: every state but RUNNING, labelled once."""
    if not trace:
        return
    seen = set()
    start, state = trace[0][0], trace[0][1]
    for row in list(trace[1:]) + [(trace[-1][0], None)]:
        if row[1] != state:
            if state in STATE_COLORS:
                ax.axvspan(start / 3600.0, row[0] / 3600.0, color=STATE_COLORS[state], zorder=0,
                           label=None if state in seen else state.lower())
                seen.add(state)
            start, state = row[0], row[1]
    if seen:
        ax.legend(loc='upper right', fontsize=7)


def mark_events(axes, summary):
    """Injected and cleared faults, user commands (acks), syringe changes."""
    style = {'inject': ('purple', '--'), 'clear': ('green', ':'), 'command': ('0.3', '-.'),
             'syringe_changed': ('C1', '-')}
    top = axes[0]
    for e in summary.get('events', []):
        if e['event'] not in style:
            continue
        color, ls = style[e['event']]
        x = e['t_s'] / 3600.0
        for ax in axes:
            ax.axvline(x, color=color, ls=ls, lw=0.8, alpha=0.7)
        label = {'syringe_changed': 'new syringe'}.get(e['event'], '%s %s' % (e['event'], e.get('name', '')))
        top.annotate(label, (x, top.get_ylim()[0]), fontsize=7, color=color, rotation=90,
                     va='bottom', ha='left')


def plot_zoom(path, summary, trace, span_s=900.0):
    """One panel per event (fault injected, alarm, ack, syringe change),
    +-span_s around it: pressure and delivered volume at full resolution."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    marks = [(e['t_s'], '%s %s' % (e['event'], e.get('name', ''))) for e in summary.get('events', [])
             if e['event'] in ('inject', 'clear', 'command', 'syringe_changed')]
    marks += [(a['t_s'], 'alarm %s' % a['code']) for a in summary['alarms']]
    marks = sorted(marks)[:6]
    if not marks:
        return None
    fig, axes = plt.subplots(len(marks), 1, figsize=(9, 2.2 * len(marks)), squeeze=False)
    for ax, (t, label) in zip(axes[:, 0], marks):
        rows = [r for r in trace if t - span_s <= r[0] <= t + span_s]
        tm = [(r[0] - t) / 60.0 for r in rows]
        ax.plot(tm, [r[4] for r in rows], color='C3', lw=1.0, label='line pressure')
        ax.plot(tm, [r[5] for r in rows], color='0.6', lw=0.6, label='sensed')
        ax.axvline(0, color='k', lw=0.8)
        ax.set_ylabel('mmHg')
        ax.set_title('%s at t=%.2f h' % (label.strip(), t / 3600.0), fontsize=8)
        ax2 = ax.twinx()
        ax2.plot(tm, [r[3] for r in rows], color='C2', lw=0.8)
        ax2.set_ylabel('delivered mL', fontsize=7)
    axes[-1, 0].set_xlabel('minutes from the event')
    axes[0, 0].legend(loc='upper left', fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def human_summary(s):
    lines = [
        'scenario   %s (%s, seed %d)' % (s['scenario'], s['pump'], s['seed']),
        'programmed %.3f mL at %.4f mL/h (%s)' % (s['programmed_ml'], s['rate_ml_h'], s['drug']),
        'delivered  %.3f mL to the patient (plunger %.3f mL, device count %.3f mL)' % (
            s['delivered_ml'], s['plunger_ml'], s['device_delivered_ml']),
        'final      %s, motor %s' % (s['final_state'], 'RUNNING' if s['motor_running'] else 'stopped'),
    ]
    c = s.get('course')
    if c:
        lines.append('course     %d syringe%s, device counted %.3f of %.3f mL: %s' % (
            c['syringes'], '' if c['syringes'] == 1 else 's', c['device_counted_ml'],
            c['programmed_ml'], 'complete' if c['complete'] else 'NOT complete'))
    if s['alarms']:
        for a in s['alarms']:
            lines.append('alarm      t=%.1f h  %s (%s priority) at %.0f mmHg' % (
                a['t_s'] / 3600.0, a['code'], a['priority'], a['pressure_mmhg']))
    else:
        lines.append('alarms     none')
    lines.append('time       %.1f h simulated in %.1f s wall (%sx real time, tick %d ms)' % (
        s['sim_seconds'] / 3600.0, s['wall_seconds'], s['speedup'], s['tick_ms']))
    return '\n'.join(lines)
