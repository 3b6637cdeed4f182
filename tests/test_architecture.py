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


def test_host_dashboard_does_not_import_the_simulator():
    """pumpctl's dashboard runs on a bench PC without the simulator."""
    for p in files('pumphost/dashboard'):
        for top, full in imports(p):
            assert top != 'simulator', (p.name, full)
