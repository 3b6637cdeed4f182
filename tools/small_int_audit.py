"""Find integer arithmetic in device code that leaves MicroPython's small-int
range on a 32-bit board (-2**30 .. 2**30 - 1), running it on CPython.

On a 32-bit port a larger result, even an intermediate one, is a long
integer on the heap: under heap_lock() that is a MemoryError, in the tick.
The 64-bit unix port (small ints to 2**62) never shows it. This module
loads the device packages with every arithmetic expression (`a * b`,
`x += y`, `-x`, ...) wrapped in a check that records, per source line, the
largest magnitude it produced; a run of the firmware then shows every line
whose result left the range, wherever the value came from.

    audit = SmallIntAudit()          # instruments firmware/, hal/, protocol/, boards/
    with audit:
        ... import and run firmware code ...
    audit.overflows()                # {(path, line): max |value|} outside the range

Instrumented modules are fresh copies: they are loaded under their own names
while the audit is active and removed from sys.modules afterwards.
"""
import ast
import importlib.abc
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMALL_MIN = -(1 << 30)
SMALL_MAX = (1 << 30) - 1
DEVICE_PACKAGES = ('firmware', 'hal', 'protocol', 'boards')
HOST_ONLY = ()
CHECK = '_small_int_check_'


class _Rewrite(ast.NodeTransformer):
    """Wrap arithmetic in CHECK(value, site) and turn augmented assignments
    into checked plain ones."""

    def __init__(self, sites, path):
        self.sites = sites
        self.path = path

    def _wrap(self, node, expr):
        self.sites.append((self.path, node.lineno))
        call = ast.Call(func=ast.Name(id=CHECK, ctx=ast.Load()),
                        args=[expr, ast.Constant(len(self.sites) - 1)], keywords=[])
        return ast.copy_location(call, node)

    # constant operands only: MicroPython folds these when it compiles
    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant):
            return node
        return self._wrap(node, node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, (ast.USub, ast.Invert)) and not isinstance(node.operand,
                                                                         ast.Constant):
            return self._wrap(node, node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        target = node.target
        load = ast.fix_missing_locations(ast.copy_location(
            _as_load(target), target))
        value = ast.copy_location(ast.BinOp(left=load, op=node.op, right=node.value), node)
        new = ast.Assign(targets=[target], value=self._wrap(node, value))
        return ast.fix_missing_locations(ast.copy_location(new, node))


def _as_load(target):
    t = ast.parse(ast.unparse(target), mode='eval').body
    return t


FROZEN_SMALL_MIN = -8192
FROZEN_SMALL_MAX = 8191


def frozen_longs(paths, root=ROOT):
    """{'path:line': [ints]}: the ints outside -8192..8191 in constant tuples
    (every element a literal) of `paths`. MicroPython folds such a tuple
    into one constant, and a frozen image (mpy-tool) stores its ints outside
    that range as long objects in flash even when they are small ints on
    the board: arithmetic on one allocates. Ints written directly in code
    (not in a tuple) are not affected."""
    out = {}
    for path in paths:
        path = Path(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Tuple) and node.elts and all(
                    isinstance(e, ast.Constant) for e in node.elts):
                big = [e.value for e in node.elts if type(e.value) is int
                       and not FROZEN_SMALL_MIN <= e.value <= FROZEN_SMALL_MAX]
                if big:
                    out['%s:%d' % (path.relative_to(root).as_posix(), node.lineno)] = big
    return out


class SmallIntAudit(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, packages=DEVICE_PACKAGES, exclude=HOST_ONLY):
        self.packages = packages
        self.exclude = exclude
        self.sites = []
        self.peak = {}         # site index -> max |value| it produced
        self.checks = 0
        self._saved = None

    # ------------------------------------------------------------ import hook
    def _ours(self, name):
        top = name.split('.')[0]
        if top not in self.packages:
            return False
        return not any(name == e or name.startswith(e + '.') for e in self.exclude)

    def find_spec(self, name, path=None, target=None):
        if not self._ours(name):
            return None
        parts = name.split('.')
        base = ROOT.joinpath(*parts)
        if (base / '__init__.py').exists():
            return importlib.util.spec_from_file_location(
                name, base / '__init__.py', loader=self, submodule_search_locations=[str(base)])
        if base.with_suffix('.py').exists():
            return importlib.util.spec_from_file_location(name, base.with_suffix('.py'),
                                                          loader=self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        path = Path(module.__spec__.origin)
        tree = ast.parse(path.read_text(), str(path))
        tree = ast.fix_missing_locations(_Rewrite(self.sites, str(path.relative_to(ROOT)))
                                         .visit(tree))
        module.__dict__[CHECK] = self._check
        exec(compile(tree, str(path), 'exec'), module.__dict__)

    def _check(self, value, site):
        self.checks += 1
        if type(value) is int:
            v = -value if value < 0 else value
            if v > self.peak.get(site, -1):
                self.peak[site] = v
        return value

    def reset(self):
        """Forget what was seen so far (e.g. imports and load-time checks,
        which may allocate, before the ticks, which must not)."""
        self.peak.clear()
        self.checks = 0

    # ------------------------------------------------------------ activation
    def __enter__(self):
        self._saved = {k: v for k, v in sys.modules.items() if self._ours(k)}
        for k in self._saved:
            del sys.modules[k]
        sys.meta_path.insert(0, self)
        return self

    def __exit__(self, *exc):
        sys.meta_path.remove(self)
        for k in [k for k in sys.modules if self._ours(k)]:
            del sys.modules[k]
        sys.modules.update(self._saved)

    def peaks(self):
        """{'path:line': largest |value| any arithmetic on that line produced}."""
        out = {}
        for site, v in self.peak.items():
            path, line = self.sites[site]
            key = '%s:%d' % (path, line)
            out[key] = max(v, out.get(key, 0))
        return out

    def overflows(self):
        """The peaks() outside the 32-bit small-int range (a negative
        value's range ends at 2**30, a positive one's at 2**30 - 1: both are
        reported from 2**30 on, the cautious reading)."""
        return {k: v for k, v in self.peaks().items() if v > SMALL_MAX}
