"""The device's numeric codes: one public name each, in pumphost.codes, and
private const() copies in the device modules that all agree with it.

Why copies: MicroPython inlines a private `_NAME = const(v)` at compile time
and stores nothing, while a public const costs a global and a qstr in every
module that defines or imports it. Copies drift silently, so this test reads
every device module (and the device tests, which run on the small heap too)
and checks each copy against pumphost.codes.
"""
import ast
import sys
from pathlib import Path

from pumphost import codes

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import mpy_gate  # noqa: E402

PUBLIC = {name: value for name, value in vars(codes).items()
          if name.isupper() and type(value) is int}
HOST_ONLY = {'pumphost/codes.py', 'pumphost/catalog.py'}


def device_files():
    for p in mpy_gate.device_modules():
        if p.relative_to(ROOT).as_posix() not in HOST_ONLY:
            yield p
    yield from sorted((ROOT / 'tests' / 'device').glob('*.py'))


def const_defs(path):
    """(name, value) of every top-level `NAME = const(expr)` in the file."""
    for node in ast.parse(path.read_text()).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call)
                and getattr(node.value.func, 'id', None) == 'const'):
            expr = ast.Expression(node.value.args[0])
            yield node.targets[0].id, eval(compile(expr, str(path), 'eval'), {})


def test_every_private_copy_matches_firmware_codes():
    checked = 0
    for p in device_files():
        for name, value in const_defs(p):
            public = name.lstrip('_')
            if name.startswith('_') and public in PUBLIC:
                assert value == PUBLIC[public], '%s: %s = %r, pumphost.codes.%s = %r' % (
                    p.relative_to(ROOT), name, value, public, PUBLIC[public])
                checked += 1
    assert checked >= len(PUBLIC)


def test_device_modules_keep_codes_private():
    # a public code in a device module would cost heap and be a second source
    for p in device_files():
        for name, _value in const_defs(p):
            assert name not in PUBLIC, '%s defines %s publicly: make it _%s (pumphost.codes has the name)' % (
                p.relative_to(ROOT), name, name)


def test_every_code_is_used_by_the_device():
    defined = {name.lstrip('_') for p in device_files() for name, _ in const_defs(p)}
    unused = sorted(set(PUBLIC) - defined)
    assert not unused, 'pumphost.codes names no device module defines: %s' % unused


def test_firmware_never_imports_codes():
    for p in mpy_gate.device_modules():
        if p.relative_to(ROOT).as_posix() in HOST_ONLY:
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ''] + [(node.module or '') + '.' + a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert 'pumphost.codes' not in names, '%s imports pumphost.codes' % p.relative_to(ROOT)


def test_generated_copies_match_the_declaration():
    import gen_codes
    assert gen_codes.main(['--check']) == 0, 'run python tools/gen_codes.py'


def test_the_check_notices_a_changed_declaration(monkeypatch):
    """Changing one value in firmware/codes.yaml must change the device
    module that uses it and the host names (else --check proves nothing)."""
    import gen_codes
    real = gen_codes.load

    def changed():
        prios, codes_, alarms = real()
        codes_ = [dict(c, value=99) if c['name'] == 'A_MOTOR_STALL' else c for c in codes_]
        return prios, codes_, alarms

    monkeypatch.setattr(gen_codes, 'load', changed)
    drift = {p.relative_to(ROOT).as_posix() for p, text in gen_codes.generate().items()
             if p.read_text() != text}
    assert {'pumphost/codes.py', 'firmware/pump.py'} <= drift
