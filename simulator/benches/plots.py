"""Plots for the benches whose result is a table rather than a trace: every
bench writes a figure beside its JSON."""


def _plt():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def plot_power(path, res):
    """Cuts by the state they fell in, failures in red; the worst errors
    against their tolerances in the title."""
    plt = _plt()
    states = sorted(res['state_before_cut'])
    failed = {}
    for f in res['failures']:
        failed[f['state_before']] = failed.get(f['state_before'], 0) + 1
    ok = [res['state_before_cut'][s] - failed.get(s, 0) for s in states]
    bad = [failed.get(s, 0) for s in states]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(states, ok, color='C2', label='recovered as required')
    ax.bar(states, bad, bottom=ok, color='C3', label='failed')
    ax.set_ylabel('power cuts')
    ax.set_xlabel('state when the power went')
    ax.legend(fontsize=8)
    ax.set_title('%s at %g mL/h, %d cuts (seed %d): worst delivered error %d nL (tolerance %d), '
                 'worst steps error %d (tolerance %d)' % (
                     res['pump'], res['rate_ml_h'], res['cuts'], res['seed'],
                     res['worst_delivered_error_nl'], res['tolerance_nl'],
                     res['worst_steps_error'], res['tolerance_steps']), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_air(path, res):
    """Per case: the air that passed before the motor stopped, and the time
    from the limit to the stop; a case that missed its expectation in red."""
    plt = _plt()
    cases = [c for c in res['cases'] if c.get('status') != 'not_applicable']
    labels = ['%s %g uL' % (c['case'], c['volume_ul']) if c['case'] == 'bubble' else c['case']
              for c in cases]
    colors = ['C2' if c['ok'] else 'C3' for c in cases]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    a1.bar(labels, [c.get('air_passed_before_stop_ul') or 0 for c in cases], color=colors)
    a1.set_ylabel('air passed before stop [uL]')
    a2.bar(labels, [c.get('time_limit_to_stop_s') or 0 for c in cases], color=colors)
    a2.set_ylabel('limit -> stop [s]')
    a2.tick_params(axis='x', rotation=45, labelsize=7)
    s = res['summary']
    a1.set_title('air in line: detected %d/%d, missed %d, false alarms %d (green: as expected)' % (
        s['detected'], s['expected_alarms'], s['missed'], s['false_alarms']), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_calibration(path, r):
    """Nominal, true (the plant) and measured, each relative to the true
    value: step volume, pressure zero and span; the accuracy check before
    and after, when run."""
    plt = _plt()
    rows = [('step_pl', r['step_pl']), ('zero counts', r['pressure_zero_counts']),
            ('span counts/100 mmHg', r['pressure_span_counts_per_100mmhg'])]
    fig, axes = plt.subplots(1, 2 if r.get('verify') else 1, figsize=(10, 4), squeeze=False)
    ax = axes[0, 0]
    x = range(len(rows))
    for i, label in enumerate(('nominal', 'measured')):
        vals = [(d[label] - d['true']) / d['true'] * 100.0 if d['true'] else 0.0 for _, d in rows]
        ax.bar([k + (i - 0.5) * 0.4 for k in x], vals, width=0.4, label=label)
    ax.set_xticks(list(x), [n for n, _ in rows], fontsize=8)
    ax.axhline(0, color='k', lw=0.6)
    ax.set_ylabel('error against the true value [%]')
    ax.legend(fontsize=8)
    ax.set_title('calibration %s' % ('stored' if r['stored'] else 'REFUSED'), fontsize=9)
    v = r.get('verify')
    if v:
        ax2 = axes[0, 1]
        labels = ('uncalibrated', 'calibrated')
        ax2.bar(labels, [v[k]['mean_error_pct'] for k in labels], color=['C7', 'C2'])
        ax2.axhline(0, color='k', lw=0.6)
        ax2.set_ylabel('flow error A at %g mL/h [%%]' % v['rate_ml_h'])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_fuzz(path, r):
    """What the decoder made of the frames: accepted, rejected as bad, and
    the counts that must be zero."""
    plt = _plt()
    names = ('accepted', 'bad_frames', 'corrupted_accepted', 'good_frames_lost', 'exceptions')
    vals = [r.get(n, 0) for n in names]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(names, [max(v, 0) for v in vals],
           color=['C2', 'C7'] + ['C3' if v else 'C2' for v in vals[2:]])
    ax.set_yscale('symlog')
    for i, v in enumerate(vals):
        ax.annotate(str(v), (i, max(v, 0)), ha='center', va='bottom', fontsize=8)
    ax.set_title('decoder fuzz: %d frames, seed %d (the last three must be 0)' % (
        r['frames'], r['seed']), fontsize=9)
    ax.tick_params(axis='x', labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_link(path, res):
    """STATUS round trips (median, p95) over a pty, for both runtimes."""
    plt = _plt()
    runs = [(k.replace('round_trip_', ''), res[k]['status']) for k in
            ('round_trip_micropython', 'round_trip_cpython') if k in res]
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, stat in enumerate(('median_ms', 'p95_ms')):
        ax.bar([k + (i - 0.5) * 0.4 for k in range(len(runs))], [s[stat] for _, s in runs],
               width=0.4, label=stat.replace('_ms', ''))
    ax.set_xticks(list(range(len(runs))), [n for n, _ in runs])
    ax.set_ylabel('STATUS round trip [ms]')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
