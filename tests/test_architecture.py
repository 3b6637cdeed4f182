"""The import rules of docs/architecture.md, checked statically."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST_LIBS = {'numpy', 'yaml', 'serial', 'transitions', 'matplotlib', 'hypothesis', 'pytest'}


def imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name.split('.')[0], a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split('.')[0], node.module


def files(pkg, exclude=()):
    for p in sorted((ROOT / pkg).rglob('*.py')):
        rel = p.relative_to(ROOT).as_posix()
        if not any(rel.startswith(e) for e in exclude):
            yield p


def test_firmware_imports():
    for p in files('firmware'):
        for top, full in imports(p):
            assert top not in {'machine', 'simulator'} | HOST_LIBS, (p.name, full)
            if top == 'hal':
                assert full == 'hal', '%s imports %s: firmware sees only the bundle' % (p.name, full)


def test_device_hal_imports():
    for p in files('hal', exclude=('hal/host/',)):
        for top, full in imports(p):
            assert top not in {'firmware', 'simulator', 'protocol'} | HOST_LIBS, (p.name, full)


def test_host_hal_imports():
    for p in files('hal/host'):
        for top, full in imports(p):
            assert top not in ('firmware', 'simulator'), (p.name, full)


def test_device_protocol_imports():
    for p in files('protocol', exclude=('protocol/tools/', 'protocol/host/')):
        for top, full in imports(p):
            assert top not in {'firmware', 'simulator', 'hal'} | HOST_LIBS, (p.name, full)


def test_simulator_uses_no_private_firmware_names():
    for p in files('simulator'):
        for top, full in imports(p):
            if top == 'firmware':
                assert not any(part.startswith('_') for part in full.split('.')), (p.name, full)
        tree = ast.parse(p.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith('firmware'):
                for a in node.names:
                    assert not a.name.startswith('_'), (p.name, a.name)


def test_device_never_imports_the_catalog():
    for p in files('firmware'):
        if p.name == 'catalog.py':
            continue
        for top, full in imports(p):
            assert full != 'pumphost.catalog', p.name


PRIVATE_SCOPE = ('firmware', 'hal', 'protocol', 'boards', 'pumphost', 'simulator')


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


def test_no_private_attribute_access_across_modules():
    found = []
    for pkg in PRIVATE_SCOPE:
        for p in files(pkg):
            found += private_reaches(p)
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
