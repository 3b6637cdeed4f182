"""The patient and the course to give, as a scenario and a program file state
them (units in every key): one schema for the simulator's scenarios and the
host's program files."""
from pumphost.config.schema import Field as N

PATIENT = N('map', required=False, default={}, fields={
    'bsa_m2': N('number', required=False, lo=0.3, hi=3.5),
    'height_cm': N('number', required=False, lo=40, hi=250),
    'weight_kg': N('number', required=False, lo=2, hi=350),
    'systolic_mmhg': N('number', required=False, default=120, lo=60, hi=260),
    'diastolic_mmhg': N('number', required=False, default=80, lo=30, hi=160),
    'heart_rate_bpm': N('number', required=False, default=72, lo=20, hi=220),
})

PROGRAM = N('map', fields={
    'template': N('str', required=False, doc='a configs/programs name or path'),
    'override_soft_limits': N('bool', required=False, default=False),
    'drug': N('str', required=False, default='unnamed'),
    'dose_mg_per_m2': N('number', required=False, lo=0.001, hi=100000),
    'concentration_mg_per_ml': N('number', required=False, lo=0.0001, hi=1000),
    'duration': N('duration', required=False, lo=60, hi=60 * 86400),
    'rate_ml_h': N('number', required=False, lo=0.001, hi=999),
    'volume_ml': N('number', required=False, lo=0.01, hi=5000),
})
