"""The acceptance run's HTML report: one self-contained file.

Per test: outcome (a skip with its reason), the target, firmware version,
image hash and serial, the requirements verified, the measured figures,
conformance counts and a plot of what the device reported (line pressure,
delivered volume by the device and by the balance, wire state). Then the
traceability matrix hazard -> requirement -> test -> result of this run, and
for every failed test the requirements and hazards it puts at risk.
"""
import base64
import html
import io

from acceptance import trace

# wire states bottom to top: the stopped ones low, delivery high
STATE_ORDER = ('FAULT', 'ALARM', 'IDLE', 'LOADING', 'REVIEW', 'READY', 'COMPLETE', 'PAUSED',
               'RUNNING')
COLORS = {'passed': '#1a7f37', 'failed': '#cf222e', 'error': '#cf222e',
          'skipped': '#9a6700', 'not run': '#57606a'}


def _plot(e):
    samples = e.get('samples') or []
    if len(samples) < 2:
        return ''
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    t = [s['t_s'] / 60.0 for s in samples]
    fig, axes = plt.subplots(3, 1, figsize=(7.5, 4.6), sharex=True,
                             gridspec_kw={'height_ratios': [2, 2, 1]})
    ax = axes[0]
    ax.plot(t, [s['pressure_mmhg'] for s in samples], lw=1, label='device sensor')
    if samples[0].get('line_mmhg') is not None:
        ax.plot(t, [s['line_mmhg'] for s in samples], lw=0.8, alpha=0.7, label='rig line')
    ax.set_ylabel('mmHg')
    ax.legend(loc='upper left', fontsize=7)
    ax = axes[1]
    ax.plot(t, [s['device_ml'] for s in samples], lw=1, label='device')
    if samples[0].get('balance_ml') is not None:
        ax.plot(t, [s['balance_ml'] for s in samples], lw=1, ls='--', label='balance')
    ax.set_ylabel('delivered mL')
    ax.legend(loc='upper left', fontsize=7)
    ax = axes[2]
    seen = {s['state_name'] for s in samples}
    names = [n for n in STATE_ORDER if n in seen] + sorted(seen - set(STATE_ORDER))
    ax.step(t, [names.index(s['state_name']) for s in samples], where='post', lw=1)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=6)
    ax.set_xlabel('time (min)')
    for mt, label in e.get('marks') or ():
        for a in axes:
            a.axvline(mt / 60.0, color='grey', lw=0.6, ls=':')
        axes[0].annotate(label, (mt / 60.0, 1.0), xycoords=('data', 'axes fraction'),
                         fontsize=6, rotation=90, va='top', ha='right', color='grey')
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=80)
    plt.close(fig)
    return '<img alt="plot" src="data:image/png;base64,%s">' % base64.b64encode(
        buf.getvalue()).decode()


def _esc(x):
    return html.escape(str(x))


def _badge(outcome):
    return '<span class="b" style="background:%s">%s</span>' % (
        COLORS.get(outcome, '#57606a'), _esc(outcome))


CSS = """
body{font-family:sans-serif;margin:1.2em;font-size:13px;color:#1f2328}
h1{font-size:20px} h2{font-size:16px;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.4em 0} td,th{border:1px solid #d0d7de;padding:2px 6px;
vertical-align:top;text-align:left} th{background:#f6f8fa}
.b{color:#fff;border-radius:3px;padding:1px 6px;font-weight:bold}
.test{border:1px solid #d0d7de;border-radius:6px;padding:.5em .8em;margin:.8em 0}
.fail{border-color:#cf222e;background:#fff5f5} code{font-size:12px}
.reason{color:#cf222e;white-space:pre-wrap} .skip{color:#9a6700}
"""


def write(out, meta, results, safety):
    counts = {}
    for e in results:
        counts[e['outcome']] = counts.get(e['outcome'], 0) + 1
    first = next((e for e in results if e.get('fw_version')), {})
    rows = trace.matrix(safety, results)
    p = ['<!doctype html><html><head><meta charset="utf-8"><title>HIL acceptance: %s</title>'
         '<style>%s</style></head><body>' % (_esc(meta['target']), CSS)]
    p.append('<h1>HIL acceptance report: target <code>%s</code></h1>' % _esc(meta['target']))
    p.append('<table><tr><th>generated</th><td>%s</td></tr><tr><th>firmware</th><td>%s</td></tr>'
             '<tr><th>image sha256</th><td><code>%s</code></td></tr>'
             '<tr><th>device serial</th><td>%s</td></tr><tr><th>selection</th><td>%s</td></tr>'
             '<tr><th>hazards / requirements / test functions</th><td>%d / %d / %d</td></tr>'
             '<tr><th>results</th><td>%s</td></tr></table>' % (
                 _esc(meta['generated_utc']), _esc(first.get('fw_version', '-')),
                 _esc(first.get('image_hash', '-')), _esc(first.get('serial', '-')),
                 _esc(meta['markexpr'] or 'all'), len(safety.hazards), len(safety.requirements),
                 meta['tests_collected'],
                 ' '.join('%s %d' % (_badge(k), v) for k, v in sorted(counts.items()))))
    bad = trace.affected(safety, results)
    if bad:
        why = {}
        for e in results:
            if e['outcome'] in ('failed', 'error'):
                why.setdefault(e['test'], []).append(e['reason'])
        p.append('<h2>Safety impact of the failures</h2><table><tr><th>test</th><th>failure</th>'
                 '<th>requirement</th><th>statement</th><th>hazards</th></tr>')
        for b in bad:
            p.append('<tr><td><code>%s</code></td><td class="reason">%s</td><td>%s</td><td>%s</td>'
                     '<td>%s</td></tr>' % (
                         _esc(b['test']), _esc('; '.join(why.get(b['test'], ()))),
                         _esc(b['requirement']), _esc(b['statement']),
                         '<br>'.join('%s %s' % (_esc(h), _esc(t)) for h, t in b['hazards'])))
        p.append('</table>')
    p.append('<h2>Tests</h2>')
    order = {'failed': 0, 'error': 0, 'skipped': 1}
    for e in sorted(results, key=lambda e: order.get(e['outcome'], 2)):
        cls = 'test fail' if e['outcome'] in ('failed', 'error') else 'test'
        p.append('<div class="%s"><b><code>%s</code></b> %s &nbsp; %s' % (
            cls, _esc(e['test']), _badge(e['outcome']),
            ', '.join(_esc(r) for r in e['requirements'])))
        if e.get('doc'):
            p.append('<div>%s</div>' % _esc(e['doc']))
        if e.get('reason'):
            p.append('<div class="%s">%s</div>' % (
                'skip' if e['outcome'] == 'skipped' else 'reason', _esc(e['reason'])))
        if e.get('fw_version'):
            c = e.get('conformance') or {}
            p.append('<div>target <code>%s</code>, firmware %s, image <code>%s</code>, '
                     'serial %s, %s s wall; conformance: %d journal transitions, %d wire '
                     'changes checked, %d violations</div>' % (
                         _esc(e['target']), _esc(e['fw_version']), _esc(e['image_hash'][:16]),
                         _esc(e['serial']), _esc(e.get('duration_s', '-')),
                         c.get('journal_transitions_checked', 0),
                         c.get('wire_changes_checked', 0), len(c.get('violations', ()))))
        if e.get('figures'):
            p.append('<table><tr><th>figure</th><th>value</th><th>unit</th></tr>')
            for name, value, unit in e['figures']:
                p.append('<tr><td>%s</td><td>%s</td><td>%s</td></tr>' % (
                    _esc(name), _esc(value), _esc(unit)))
            p.append('</table>')
        p.append(_plot(e))
        p.append('</div>')
    head = len(p)
    p.append('<h2 id="matrix">Traceability: hazard &rarr; requirement &rarr; test &rarr; result'
             '</h2><table><tr><th>hazard</th><th>severity</th><th>requirement</th><th>test</th>'
             '<th>result</th></tr>')
    for r in rows:
        h = safety.haz[r['hazard']]
        p.append('<tr><td>%s %s</td><td>%s</td><td>%s</td><td><code>%s</code></td><td>%s %s</td>'
                 '</tr>' % (_esc(r['hazard']), _esc(h['title']), _esc(r['severity']),
                            _esc(r['requirement']), _esc(r['test']), _badge(r['result']),
                            '<span class="skip">%s</span>' % _esc(r['reason'])
                            if r['reason'] and r['result'] != 'failed' else ''))
    p.append('</table></body></html>')
    path = out / 'report.html'
    path.write_text('\n'.join(p))
    # the matrix alone as well, with the run's header
    (out / 'matrix.html').write_text('\n'.join(p[:3] + p[head:]))
    return path
