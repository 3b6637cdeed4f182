"""Hazards and requirements as data (docs/safety/*.yaml), their checks, the
traceability matrix of a run and the generated markdown view.

  python -m acceptance.trace --write    regenerate docs/safety/README.md
  python -m acceptance.trace --check    exit 1 if the data is inconsistent or
                                        the markdown is stale

hazards.yaml:      id, title, cause, effect, severity, source, controls (requirement ids)
requirements.yaml: id, statement, hazards (hazard ids), verification (acceptance test names)

Rules (each broken one is a problem line): unique ids; every hazard has a
control and every requirement a hazard, both ways the same; every
requirement is verified by at least one test, every listed test carries
the requirement in its `req` marker and every suite test verifies at least
one requirement (`check_suite`).
"""
import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAFETY = ROOT / 'docs' / 'safety'
SEVERITIES = ('catastrophic', 'critical', 'serious', 'minor', 'negligible')
HAZ_ID = re.compile(r'^HAZ-\d{2}$')
REQ_ID = re.compile(r'^REQ-[A-Z]{3}-\d{2}$')


class Safety:
    def __init__(self, hazards, requirements):
        self.hazards = hazards
        self.requirements = requirements
        self.haz = {h['id']: h for h in hazards}
        self.req = {r['id']: r for r in requirements}


def load(directory=SAFETY):
    directory = Path(directory)
    hz = yaml.safe_load((directory / 'hazards.yaml').read_text())['hazards']
    rq = yaml.safe_load((directory / 'requirements.yaml').read_text())['requirements']
    return Safety(hz, rq)


def check_data(s):
    """Problems within the data itself."""
    out = []
    for kind, items, pat, fields in (
            ('hazard', s.hazards, HAZ_ID, ('id', 'title', 'cause', 'effect', 'severity',
                                             'source', 'controls')),
            ('requirement', s.requirements, REQ_ID, ('id', 'statement', 'hazards',
                                                       'verification'))):
        ids = set()
        for it in items:
            for f in fields:
                if f not in it or it[f] in (None, '', []):
                    out.append('%s %s: %s missing or empty' % (kind, it.get('id', '?'), f))
            i = it.get('id', '?')
            if not pat.match(str(i)):
                out.append('%s id %r: expected %s' % (kind, i, pat.pattern))
            if i in ids:
                out.append('%s id %s: used twice' % (kind, i))
            ids.add(i)
    for h in s.hazards:
        if h.get('severity') not in SEVERITIES:
            out.append('hazard %s: severity %r not one of %s' % (h['id'], h.get('severity'),
                                                                 ', '.join(SEVERITIES)))
        for r in h.get('controls') or ():
            if r not in s.req:
                out.append('hazard %s: control %s is not a requirement' % (h['id'], r))
            elif h['id'] not in s.req[r].get('hazards', ()):
                out.append('hazard %s lists %s, but %s does not list the hazard'
                           % (h['id'], r, r))
    for r in s.requirements:
        for h in r.get('hazards') or ():
            if h not in s.haz:
                out.append('requirement %s: hazard %s does not exist' % (r['id'], h))
            elif r['id'] not in s.haz[h].get('controls', ()):
                out.append('requirement %s lists %s, but %s does not list the requirement'
                           % (r['id'], h, h))
    return out


def check_suite(s, tests_to_reqs):
    """Problems between the data and the suite: {test name: [requirement ids]}."""
    out = []
    for t, reqs in sorted(tests_to_reqs.items()):
        if not reqs:
            out.append('test %s verifies no requirement (add @pytest.mark.req)' % t)
        for r in reqs:
            if r not in s.req:
                out.append('test %s: requirement %s does not exist' % (t, r))
            elif t not in s.req[r]['verification']:
                out.append('test %s verifies %s, but %s.verification does not list it'
                           % (t, r, r))
    for r in s.requirements:
        for t in r.get('verification') or ():
            if t not in tests_to_reqs:
                out.append('requirement %s: verification test %s is not in the suite'
                           % (r['id'], t))
            elif r['id'] not in tests_to_reqs[t]:
                out.append('requirement %s lists %s, whose req marker does not name it'
                           % (r['id'], t))
    return out


def matrix(s, results):
    """Rows hazard -> requirement -> test -> result for this run."""
    by_test = {}
    for e in results:
        by_test.setdefault(e['test'], []).append(e)
    rows = []
    for h in s.hazards:
        for rid in h['controls']:
            r = s.req.get(rid, {})
            for t in r.get('verification', ()):
                runs = by_test.get(t, [])
                if runs:
                    outcome = _worst([e['outcome'] for e in runs])
                    reason = '; '.join(e['reason'] for e in runs if e.get('reason'))
                else:
                    outcome, reason = 'not run', 'not selected in this run'
                rows.append({'hazard': h['id'], 'severity': h['severity'], 'requirement': rid,
                             'test': t, 'result': outcome, 'reason': reason})
    return rows


def _worst(outcomes):
    for o in ('failed', 'error', 'skipped', 'not run', 'passed'):
        if o in outcomes:
            return o
    return outcomes[0] if outcomes else 'not run'


def affected(s, results):
    """For each failed test: the requirements it verifies and their hazards."""
    out = []
    for e in results:
        if e['outcome'] not in ('failed', 'error'):
            continue
        for rid in e['requirements']:
            r = s.req.get(rid)
            out.append({'test': e['test'], 'requirement': rid,
                        'statement': r['statement'] if r else '?',
                        'hazards': [(h, s.haz[h]['title']) for h in (r or {}).get('hazards', ())
                                    if h in s.haz]})
    return out


def markdown(s):
    lines = ['# Hazards and requirements', '',
             'Generated from `hazards.yaml` and `requirements.yaml` by '
             '`python -m acceptance.trace --write`; do not edit by hand. The acceptance '
             'suite (`acceptance/`, `make hil TARGET=...`) verifies every requirement and '
             'writes the traceability matrix of each run into its report.', '',
             '%d hazards, %d requirements, %d acceptance tests named as verification.'
             % (len(s.hazards), len(s.requirements),
                len({t for r in s.requirements for t in r['verification']})), '',
             '## Hazards', '',
             '| id | hazard | cause | effect | severity | source | controlled by |',
             '|---|---|---|---|---|---|---|']
    cell = lambda x: str(x).replace('|', '/').replace('\n', ' ').strip()  # noqa: E731
    for h in s.hazards:
        lines.append('| %s | %s | %s | %s | %s | %s | %s |' % (
            h['id'], cell(h['title']), cell(h['cause']), cell(h['effect']), h['severity'],
            cell(h['source']), ', '.join(h['controls'])))
    lines += ['', '## Requirements', '', '| id | requirement | hazards | verified by |',
              '|---|---|---|---|']
    for r in s.requirements:
        lines.append('| %s | %s | %s | %s |' % (r['id'], cell(r['statement']),
                                                ', '.join(r['hazards']),
                                                ', '.join('`%s`' % t for t in r['verification'])))
    return '\n'.join(lines) + '\n'


def main(argv=None):
    ap = argparse.ArgumentParser(prog='python -m acceptance.trace')
    ap.add_argument('--write', action='store_true', help='regenerate docs/safety/README.md')
    ap.add_argument('--check', action='store_true', help='check the data and the markdown')
    a = ap.parse_args(argv)
    s = load()
    problems = check_data(s)
    for p in problems:
        print('safety data: ' + p, file=sys.stderr)
    md = markdown(s)
    target = SAFETY / 'README.md'
    if a.write:
        target.write_text(md)
        print('wrote %s: %d hazards, %d requirements' % (target, len(s.hazards),
                                                          len(s.requirements)))
    elif a.check and (not target.exists() or target.read_text() != md):
        print('safety data: %s is stale: run python -m acceptance.trace --write' % target,
              file=sys.stderr)
        return 1
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
