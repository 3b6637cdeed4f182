"""The plant: what the motor's steps do to the fluid, line and patient.

`make_plant` picks the mechanism by the pump's kind; both share the line
model (line.py). Faults are named and table-driven (faults.py); the arterial
pressure is its own model (arterial.py).
"""
from simulator.plant.peristaltic import PeristalticPlant
from simulator.plant.syringe import SyringePlant


def make_plant(pump_cfg, arterial=None, seed=0, fill_ml=None, mechanism=None, unit_seed=None):
    """The plant for the pump's kind (syringe or peristaltic). `mechanism`
    (syringe only): 'ideal' or None, 'bench', or parameters over the bench
    defaults (simulator/plant/mechanism.py), drawn under `unit_seed` (the
    unit: its screw and microstep phases; default `seed`) so that one unit
    can be calibrated under one run seed and measured under another."""
    if pump_cfg.kind == 'peristaltic':
        return PeristalticPlant(pump_cfg, arterial, seed=seed, fill_ml=fill_ml)
    plant = SyringePlant(pump_cfg, arterial, seed=seed, fill_ml=fill_ml)
    if mechanism not in (None, 'ideal'):
        from simulator.plant.mechanism import make_mechanism
        plant.mechanism = m = make_mechanism(mechanism, pump_cfg, seed if unit_seed is None else unit_seed)
        plant.area_mm2 = m.area_mm2
    return plant
