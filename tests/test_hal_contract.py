"""Every HAL backend implements every method of the contract."""
import inspect

import pytest

from hal import Hal
from hal.interfaces import CONTRACT
from hal.fake import make_fake_hal
from simulator.runtime.sim_hal import make_sim_hal
from pumphost.config.pumps import load_pump
from simulator.plant import SyringePlant


def backends(tmp_path):
    plant = SyringePlant(load_pump('bd-plastipak-50'))
    return {'fake': make_fake_hal(), 'sim': make_sim_hal(plant),
            'fake-file-nv': make_fake_hal(1024, str(tmp_path / 'nv.bin'))}


@pytest.mark.parametrize('name', ['fake', 'sim', 'fake-file-nv'])
def test_backend_implements_contract(name, tmp_path):
    hal = backends(tmp_path)[name]
    assert isinstance(hal, Hal)
    for attr, iface in CONTRACT.items():
        obj = getattr(hal, attr)
        for meth, fn in inspect.getmembers(iface, inspect.isfunction):
            impl = getattr(obj, meth, None)
            assert callable(impl), '%s backend: %s.%s missing' % (name, attr, meth)
            want = len(inspect.signature(fn).parameters) - 1
            got = len(inspect.signature(impl).parameters)
            assert got == want, '%s backend: %s.%s takes %d args, contract %d' % (
                name, attr, meth, got, want)


def test_clocks_wrap_at_2_30(tmp_path):
    for hal in backends(tmp_path).values():
        c = hal.clock
        t = c.ticks_add(c.ticks_ms(), 0)
        near = c.ticks_add(0, -5)
        assert near == (1 << 30) - 5
        assert c.ticks_diff(c.ticks_add(near, 10), near) == 10
        assert c.ticks_diff(near, c.ticks_add(near, 10)) == -10
        assert 0 <= t < (1 << 30)
