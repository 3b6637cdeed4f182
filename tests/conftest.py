import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# device tests import their helpers as top-level modules (as under MicroPython)
sys.path.insert(0, str(ROOT / 'tests' / 'device'))


# Under mutmut (MUTANT_UNDER_TEST names the mutant, e.g.
# 'firmware.monitors.xǁMonitorsǁcheck__mutmut_5'), the tests written for the
# mutated module run first: they are the likeliest to kill it, and a killed
# mutant costs the tests up to the first that fails. The order within each
# group stays mutmut's (fastest first); the set of tests is unchanged, so
# is every verdict.
_TESTS_OF_MODULE = {
    'alarms': ('alarm',), 'occlusion': ('occlusion', 'pressure_ceiling'), 'air': ('air',),
    'monitors': ('monitor',), 'limits': ('limit', 'programs'), 'dose_limits': ('limit', 'programs'),
    'delivery': ('course', 'loop_schedule', 'fill', 'program', 'firmware_device'), 'loop': ('loop',),
    'recovery': ('recovery', 'power'), 'checkpoint': ('checkpoint', 'recovery', 'power'),
    'auth': ('auth',),
}


def pytest_collection_modifyitems(config, items):
    import os
    mutant = os.environ.get('MUTANT_UNDER_TEST', '')
    if '__mutmut_' not in mutant:
        return
    words = _TESTS_OF_MODULE.get(mutant.split('.')[1], ())
    if words:
        items.sort(key=lambda item: not any(w in item.nodeid.split('::')[0] for w in words))


# Under mutmut, every call of a mutated module's function goes through
# mutmut's trampoline, which asks get_mutant_under_test() for the active
# mutant: by default an os.environ lookup (a key encoded, a value decoded)
# on every call, half the cost of a control-tick test under mutation. mutmut
# sets the mutant once per worker (set_mutant_under_test, which also sets the
# environment), so its process-local copy answers the same, without the
# lookup. Only when mutmut (3.8.1, pinned) is already loaded: never in
# `make test`. A check by hand (MUTANT_UNDER_TEST in the environment only)
# still reads the environment.
def _speed_up_mutmut_trampolines():
    trampoline = sys.modules.get('mutmut.mutation.trampoline')
    if trampoline is None or not hasattr(trampoline, '_mutant_under_test'):
        return
    import os
    env = os.environ

    def get_mutant_under_test():
        name = trampoline._mutant_under_test
        return name if name is not None else env.get('MUTANT_UNDER_TEST', '')
    trampoline.get_mutant_under_test = get_mutant_under_test


_speed_up_mutmut_trampolines()
