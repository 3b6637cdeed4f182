"""Dose arithmetic on the host (the device re-checks the resulting rates).

Units are explicit in every name; there is no unitless quantity here.
"""
import math


def bsa_mosteller_m2(height_cm, weight_kg):
    """Body surface area (Mosteller): sqrt(height_cm * weight_kg / 3600)."""
    if height_cm <= 0 or weight_kg <= 0:
        raise ValueError('height_cm and weight_kg must be positive')
    return math.sqrt(height_cm * weight_kg / 3600.0)


def course_from_dose_per_m2(dose_mg_per_m2, bsa_m2, concentration_mg_per_ml, duration_s):
    """mg/m2 over a duration -> (total_mg, volume_ml, rate_ml_h)."""
    total_mg = dose_mg_per_m2 * bsa_m2
    volume_ml = total_mg / concentration_mg_per_ml
    rate_ml_h = volume_ml / (duration_s / 3600.0)
    return total_mg, volume_ml, rate_ml_h


def ml_to_nl(ml):
    return int(round(ml * 1e6))


def ml_h_to_nl_h(ml_h):
    return int(round(ml_h * 1e6))
