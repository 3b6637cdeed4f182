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
