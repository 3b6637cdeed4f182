"""The import rules of docs/architecture.md, checked statically, for every
top-level package of the repository."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOST_LIBS = {'numpy', 'yaml', 'serial', 'transitions', 'matplotlib', 'hypothesis', 'pytest',
             'jsonschema', 'dask', 'distributed', 'pyarrow', 'pandas'}
DEVICE = {'firmware', 'hal', 'protocol', 'boards'}
OURS = DEVICE | {'pumphost', 'simulator', 'configs', 'tools', 'tests', 'acceptance'}

# package -> the packages of ours it may import (itself always)
MAY_IMPORT = {
    'protocol': set(),
    'hal': set(),
    'firmware': {'hal', 'protocol'},
    'boards': {'firmware', 'hal', 'protocol'},
    'pumphost': DEVICE,
    'simulator': DEVICE | {'pumphost'},
    'configs': set(),
    'tools': DEVICE | {'pumphost', 'simulator'},
    # the acceptance suite sees a target through the host client and the rig
    'acceptance': DEVICE | {'pumphost', 'simulator'},
}
# only a board may touch the MCU; the device never touches host libraries
MACHINE_OK = {'boards'}


def imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split('.')[0], a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split('.')[0], node.module


def files(pkg):
    return sorted((ROOT / pkg).rglob('*.py'))


def test_every_top_level_package_has_a_rule():
    tops = {p.name for p in ROOT.iterdir()
            if p.is_dir() and not p.name.startswith('.') and any(p.rglob('*.py'))}
    tops -= {'tests', 'build', 'out', 'docs', 'mutants'}   # mutants: make mutation's working copy
    assert tops <= set(MAY_IMPORT), 'no import rule for %s' % sorted(tops - set(MAY_IMPORT))


@pytest.mark.parametrize('pkg', sorted(MAY_IMPORT))
def test_imports_follow_the_layers(pkg):
    allowed = MAY_IMPORT[pkg] | {pkg}
    bad = []
    for p in files(pkg):
        for top, full in imports(p):
            if top in OURS and top not in allowed:
                bad.append('%s imports %s' % (p.relative_to(ROOT), full))
            if pkg in DEVICE and top in HOST_LIBS:
                bad.append('%s (device) imports host library %s' % (p.relative_to(ROOT), full))
            if top == 'machine' and pkg not in MACHINE_OK:
                bad.append('%s imports machine: only boards/ touch the MCU' % p.relative_to(ROOT))
    assert not bad, '\n'.join(bad)


def test_firmware_sees_only_the_hal_bundle():
    for p in files('firmware'):
        for top, full in imports(p):
            if top == 'hal':
                assert full == 'hal', '%s imports %s: firmware sees only the bundle' % (p.name, full)


PRIVATE_SCOPE = ('firmware', 'hal', 'protocol', 'boards', 'pumphost', 'simulator', 'tools')


def _is_private(name):
    return name.startswith('_') and not (name.startswith('__') and name.endswith('__'))


def private_reaches(path):
    return private_reaches_in(path, ROOT)


def private_reaches_in(path, root):
    """`x._name` where x is not self or cls, and `from m import _name`: a
    module reaching into what another object or module keeps to itself.
    `Base._method(self, ...)` inside a subclass of Base (the base class's
    own implementation, called explicitly) is the class's own business."""
    tree = ast.parse(path.read_text())
    found = []

    def walk(node, bases):
        if isinstance(node, ast.ClassDef):
            bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            v = node.value
            own = isinstance(v, ast.Name) and (v.id in ('self', 'cls') or v.id in bases)
            if not own:
                found.append('%s:%d %s.%s' % (path.relative_to(root).as_posix(), node.lineno,
                                               ast.unparse(v), node.attr))
        if isinstance(node, ast.ImportFrom) and node.module != '__future__':
            for a in node.names:
                if _is_private(a.name):
                    found.append('%s:%d from %s import %s' % (path.relative_to(root).as_posix(),
                                                              node.lineno, node.module, a.name))
        for child in ast.iter_child_nodes(node):
            walk(child, bases)

    walk(tree, set())
    return found


# argparse exposes no public list of a parser's actions: the CLI's help filler
# walks them (the standard library's private names, not one of ours)
STDLIB_REACHES = ('simulator/ui/cli.py:', ' parser._actions', ' argparse._SubParsersAction')


def test_no_private_attribute_access_across_modules():
    found = []
    for pkg in PRIVATE_SCOPE:
        for p in files(pkg):
            found += [f for f in private_reaches(p)
                      if not (f.startswith(STDLIB_REACHES[0]) and f.endswith(STDLIB_REACHES[1:]))]
    assert not found, 'private names used from outside their owner:\n' + '\n'.join(found)


def test_private_reach_detector(tmp_path):
    src = tmp_path / 'm.py'
    src.write_text(
        'from a import _hidden\n'
        'class Base:\n'
        '    def _own(self):\n'
        '        return self._x, cls_like._y\n'
        'class Sub(Base):\n'
        '    def run(self, pump):\n'
        '        Base._own(self)\n'
        '        return pump._step_left + self.sched._q + self.__class__.__name__.__len__()\n')
    found = [f.split(' ', 1)[1] for f in private_reaches_in(src, tmp_path)]
    assert found == ['from a import _hidden', 'cls_like._y', 'pump._step_left', 'self.sched._q']


def test_device_never_imports_the_host_names():
    for pkg in DEVICE:
        for p in files(pkg):
            for top, full in imports(p):
                assert top != 'pumphost', (p.name, full)


def test_no_import_circles_between_modules():
    """Module-level imports among our own modules form no cycle (imports
    inside functions are deliberate late binding and not counted)."""
    graph = {}
    for pkg in set(MAY_IMPORT) - {'tools'}:
        for p in files(pkg):
            mod = '.'.join(p.relative_to(ROOT).with_suffix('').parts)
            mod = mod[:-len('.__init__')] if mod.endswith('.__init__') else mod
            deps = set()
            for node in ast.parse(p.read_text()).body:
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module] + [node.module + '.' + a.name for a in node.names]
                deps |= {n for n in names if n.split('.')[0] in OURS}
            graph[mod] = deps
    graph = {m: {d for d in ds if d in graph and d != m} for m, ds in graph.items()}
    seen, stack, cycles = set(), [], []

    def visit(m):
        if m in stack:
            cycles.append(stack[stack.index(m):] + [m])
            return
        if m in seen:
            return
        seen.add(m)
        stack.append(m)
        for d in sorted(graph[m]):
            visit(d)
        stack.pop()

    for m in sorted(graph):
        visit(m)
    assert not cycles, ' ; '.join(' -> '.join(c) for c in cycles)
