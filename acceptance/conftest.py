"""The acceptance suite's pytest plumbing.

  pytest acceptance --target inproc|micropython|qemu|bench [--bench CFG]
                    [--hil-out DIR] [--junitxml FILE] [-m smoke]

Markers:
  @pytest.mark.req('REQ-...', ...)   requirements the test verifies (every test has one)
  @pytest.mark.needs('fault:NAME', 'balance', ...)   rig capabilities; missing -> skipped
  @pytest.mark.smoke                  in the quick subset (make test, micropython)
  @pytest.mark.scenario('file.yaml')  the pump/patient scenario (default hai-50.yaml)

Each test that takes the `dut` fixture gets a fresh device on the chosen
target; after the test body, the whole journal goes through the conformance
monitor and a state change outside the table fails the test. At the end the
run writes DIR/report.html, DIR/results.json and the traceability matrix
(hazard -> requirement -> test -> result).
"""
import json
import time
from pathlib import Path

import pytest

from acceptance import targets as T
from acceptance import trace
from acceptance.rig import SimRig

HERE = Path(__file__).resolve().parent
DEFAULT_SCENARIO = 'hai-50.yaml'
RESULTS = pytest.StashKey()
TESTS_TO_REQS = pytest.StashKey()


def pytest_addoption(parser):
    g = parser.getgroup('hil', 'hardware-in-the-loop acceptance suite')
    g.addoption('--target', default='inproc', choices=T.names(),
                help='where the device runs (default inproc)')
    g.addoption('--bench', default=None, help='bench configuration (YAML) for --target bench')
    g.addoption('--hil-out', default='out/hil', help='report directory (default out/hil)')


def pytest_configure(config):
    for line in ('req(*ids): requirements this test verifies',
                 'needs(*capabilities): rig capabilities the test needs',
                 'smoke: part of the quick subset',
                 'scenario(name): scenario file under acceptance/scenarios',
                 'suite_check: checks the suite itself (no requirement)'):
        config.addinivalue_line('markers', line)
    config.stash[RESULTS] = []
    config.stash[TESTS_TO_REQS] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Before -m deselects: every test of the suite with its requirements,
    for the suite's own traceability check."""
    seen = config.stash[TESTS_TO_REQS]
    for item in items:
        if item.get_closest_marker('suite_check'):
            continue
        reqs = []
        for m in item.iter_markers('req'):
            reqs.extend(m.args)
        name = item.originalname or item.name   # parametrized: the union over its cases
        seen[name] = sorted(set(reqs) | set(seen.get(name, ())))
        item.user_properties.append(('requirements', ' '.join(sorted(set(reqs)))))


@pytest.fixture(scope='session')
def hil_target(request):
    cfg = request.config
    cls = T.TARGETS[cfg.getoption('--target')]
    target = cls({'bench': cfg.getoption('--bench')})
    why = target.unavailable()
    if why:
        pytest.skip('target %s unavailable: %s' % (target.name, why))
    yield target
    target.close()


@pytest.fixture
def suite_tests(request):
    return dict(request.config.stash[TESTS_TO_REQS])


def _scenario(request):
    from simulator.scenario import load_scenario
    m = request.node.get_closest_marker('scenario')
    return load_scenario(str(HERE / 'scenarios' / (m.args[0] if m else DEFAULT_SCENARIO)))


@pytest.fixture
def dut(request, hil_target):
    needs = []
    for m in request.node.iter_markers('needs'):
        needs.extend(m.args)
    rig_caps = SimRig.capabilities if hil_target.simulated else None
    if rig_caps is not None:
        missing = [n for n in needs if n not in rig_caps]
        if missing:
            pytest.skip('target %s: its rig cannot %s' % (hil_target.name, ', '.join(missing)))
    d = hil_target.open(_scenario(request))
    missing = [n for n in needs if not d.rig.has(n)]
    if missing:
        d.close()
        pytest.skip('target %s: its rig cannot %s' % (hil_target.name, ', '.join(missing)))
    request.node.hil_dut = d
    yield d
    d.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        res = yield
    finally:   # figures go into the JUnit XML too (user properties), pass or fail
        d = getattr(item, 'hil_dut', None)
        if d is not None:
            item.user_properties.append(('target', d.target))
            item.user_properties.append(('firmware', (d.info or {}).get('fw_version')))
            item.user_properties.append(('image_sha256', d.image_hash))
            for name, value, unit in d.figures:
                item.user_properties.append(('figure', '%s = %s %s' % (name, value, unit)))
    if d is not None:    # the test passed: now the state table must agree with all it saw
        d.finish()
        d.monitor.check()
    return res


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    if item.get_closest_marker('suite_check'):
        return rep
    entry = _entry(item)
    if rep.when == 'setup' and rep.skipped:
        entry['outcome'] = 'skipped'
        entry['reason'] = _skip_reason(rep)
    elif rep.when == 'setup' and rep.failed:
        entry['outcome'] = 'error'
        entry['reason'] = _first_line(rep.longreprtext)
    elif rep.when == 'call':
        entry['outcome'] = rep.outcome
        entry['duration_s'] = round(rep.duration, 2)
        if rep.skipped:
            entry['reason'] = _skip_reason(rep)
        elif rep.failed:
            entry['reason'] = _failure_text(rep)
        d = getattr(item, 'hil_dut', None)
        if d is not None:
            entry.update(_dut_data(d))
    return rep


def _entry(item):
    results = item.config.stash[RESULTS]
    for e in results:
        if e['nodeid'] == item.nodeid:
            return e
    reqs = []
    for m in item.iter_markers('req'):
        reqs.extend(m.args)
    e = {'nodeid': item.nodeid, 'test': item.originalname or item.name,
         'doc': (item.function.__doc__ or '').strip(), 'requirements': sorted(set(reqs)),
         'target': item.config.getoption('--target'), 'outcome': 'not run', 'reason': ''}
    results.append(e)
    return e


def _first_line(text):
    lines = [x for x in (text or '').splitlines() if x.strip()]
    return lines[-1].strip() if lines else ''


def _failure_text(rep):
    crash = getattr(rep.longrepr, 'reprcrash', None)
    if crash is not None:
        return crash.message.strip()
    return _first_line(rep.longreprtext)


def _skip_reason(rep):
    lr = rep.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:
        return str(lr[2]).replace('Skipped: ', '')
    return _first_line(str(lr))


def _dut_data(d):
    info = d.info or {}
    return {'fw_version': info.get('fw_version'), 'serial': info.get('serial'),
            'image_hash': d.image_hash, 'figures': list(d.figures),
            'samples': list(d.samples), 'marks': list(d.marks),
            'conformance': d.monitor.summary(),
            'journal_records': len(d.journal_records)}


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    results = config.stash[RESULTS]
    if not results or getattr(config, 'workerinput', None) is not None:
        return
    from acceptance import report
    out = Path(config.getoption('--hil-out'))
    out.mkdir(parents=True, exist_ok=True)
    meta = {'target': config.getoption('--target'),
            'generated_utc': time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()),
            'tests_collected': len(config.stash[TESTS_TO_REQS]),
            'markexpr': config.getoption('-m') or ''}
    safety = trace.load()
    (out / 'results.json').write_text(json.dumps(
        {'meta': meta, 'results': [{k: v for k, v in e.items() if k != 'samples'}
                                   for e in results],
         'matrix': trace.matrix(safety, results)}, indent=1))
    path = report.write(out, meta, results, safety)
    tr = config.pluginmanager.get_plugin('terminalreporter')
    if tr is not None:
        tr.write_line('hil report: %s (target %s)' % (path, meta['target']))
