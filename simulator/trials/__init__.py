"""Virtual trials: `pumpsim sweep SPEC.yaml`, a grid or random sample of
benches over pumps, rates, plant parameters, patient profiles and seeds, run
as tasks on Dask (sweep.py), each task a bench (tasks.py), the report per
cell (report.py)."""
