"""Benches after IEC 60601-2-24, each a module here: `pumpsim bench NAME`.

A bench module defines `register(bench)`, which adds its subcommand to the
`bench` sub-parser; the CLI discovers every module in this package (except
`common`, which holds what the benches share), so a new bench is a new file.
"""
import importlib
import pkgutil

SHARED = ('common', 'accuracy_balance', 'plots')


def bench_modules():
    """Every bench module of this package, by name."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith('_') and info.name not in SHARED:
            yield importlib.import_module(__name__ + '.' + info.name)
