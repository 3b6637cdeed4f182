"""The plant: what the motor's steps do to the fluid, line and patient.

`make_plant` picks the mechanism by the pump's kind; both share the line
model (line.py). Faults are named and table-driven (faults.py); the arterial
pressure is its own model (arterial.py).
"""
from simulator.plant.peristaltic import PeristalticPlant
from simulator.plant.syringe import SyringePlant


def make_plant(pump_cfg, arterial=None, seed=0, fill_ml=None):
    """The plant for the pump's kind (syringe or peristaltic)."""
    if pump_cfg.kind == 'peristaltic':
        return PeristalticPlant(pump_cfg, arterial, seed=seed, fill_ml=fill_ml)
    return SyringePlant(pump_cfg, arterial, seed=seed, fill_ml=fill_ml)
