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


def human_summary(s):
    lines = [
        'scenario   %s (%s, seed %d)' % (s['scenario'], s['pump'], s['seed']),
        'programmed %.3f mL at %.4f mL/h (%s)' % (s['programmed_ml'], s['rate_ml_h'], s['drug']),
        'delivered  %.3f mL to the patient (plunger %.3f mL, device count %.3f mL)' % (
            s['delivered_ml'], s['plunger_ml'], s['device_delivered_ml']),
        'final      %s, motor %s' % (s['final_state'], 'RUNNING' if s['motor_running'] else 'stopped'),
    ]
    if s['alarms']:
        for a in s['alarms']:
            lines.append('alarm      t=%.1f h  %s (%s priority) at %.0f mmHg' % (
                a['t_s'] / 3600.0, a['code'], a['priority'], a['pressure_mmhg']))
    else:
        lines.append('alarms     none')
    lines.append('time       %.1f h simulated in %.1f s wall (%sx real time, tick %d ms)' % (
        s['sim_seconds'] / 3600.0, s['wall_seconds'], s['speedup'], s['tick_ms']))
    return '\n'.join(lines)
