"""The rig: everything the acceptance suite does to, or reads from, the
world outside the pump's serial link.

  rig.inject(name, **params) / rig.clear(name)   a physical fault (names from
                                                 simulator/plant/faults.py)
  rig.balance_g()            mass on the balance under the catheter outlet, g
  rig.line_pressure_mmhg()   a reference pressure transducer in the line
  rig.power_cycle(off_s)     supply off now, back after off_s
  rig.alarm_sounding()       is the pump's alarm audible
  rig.capabilities           what this rig can do: 'fault:NAME', 'balance',
                             'line_pressure', 'power_cycle', 'audio'

A test says which capabilities it needs; a target whose rig lacks one skips
the test and the report says why. Implementations: `SimRig` here (the
simulator's plant, for every simulated target) and `acceptance.bench.BenchRig`
(a laboratory balance over MT-SICS, faults by relay or by operator prompt).
"""
from simulator.plant import faults

WATER_G_PER_ML = 0.998   # density of water at 20 C: a gravimetric bench's conversion


class RigError(Exception):
    pass


class Rig:
    capabilities = frozenset()

    def has(self, capability):
        return capability in self.capabilities

    def inject(self, name, **params):
        raise RigError('this rig cannot inject %s' % name)

    def clear(self, name):
        raise RigError('this rig cannot clear %s' % name)

    def balance_g(self):
        raise RigError('this rig has no balance')

    def line_pressure_mmhg(self):
        raise RigError('this rig has no line pressure transducer')

    def power_cycle(self, off_s):
        raise RigError('this rig cannot switch the supply')

    def alarm_sounding(self):
        raise RigError('this rig cannot hear the alarm')

    def close(self):
        pass


# faults the simulator's plant takes, as rig capabilities (power faults are
# the supply's: power_cycle)
SIM_FAULTS = tuple(n for n in faults.FAULTS if n not in faults.POWER_FAULTS)


class SimRig(Rig):
    """The simulator's plant behind the rig interface. `device` is a lockstep
    device (simulator.runtime.lockstep): .plant, .hal, .power_cycle()."""

    capabilities = frozenset(['fault:' + n for n in SIM_FAULTS]
                             + ['balance', 'line_pressure', 'power_cycle', 'audio'])

    def __init__(self, device, on_power_cycle=None):
        self.device = device
        self.on_power_cycle = on_power_cycle

    def inject(self, name, **params):
        if name not in SIM_FAULTS:
            raise RigError('unknown fault %r (%s)' % (name, ', '.join(SIM_FAULTS)))
        faults.inject(self.device.plant, name, **params)

    def clear(self, name):
        faults.clear(self.device.plant, name)

    def balance_g(self):
        # what left the catheter, weighed (the plant keeps microlitres)
        return self.device.plant.delivered_ul / 1000.0 * WATER_G_PER_ML

    def line_pressure_mmhg(self):
        return float(self.device.plant.pressure_mmhg)

    def power_cycle(self, off_s):
        self.device.power_cycle(off_s)
        if self.on_power_cycle is not None:
            self.on_power_cycle(off_s)

    def alarm_sounding(self):
        return bool(self.device.hal.indicators.buzzing)
