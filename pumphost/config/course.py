"""The patient, as a scenario and a program file state it (units in every
key): one schema for the simulator's scenarios and the host's program files;
the course itself is compiled by pumphost/config/programs.py."""
from pumphost.config.schema import Field as N

PATIENT = N('map', required=False, default={}, fields={
    'bsa_m2': N('number', required=False, lo=0.3, hi=3.5),
    'height_cm': N('number', required=False, lo=40, hi=250),
    'weight_kg': N('number', required=False, lo=2, hi=350),
    'systolic_mmhg': N('number', required=False, default=120, lo=60, hi=260),
    'diastolic_mmhg': N('number', required=False, default=80, lo=30, hi=160),
    'heart_rate_bpm': N('number', required=False, default=72, lo=20, hi=220),
})
