"""What the acceptance tests share: program step builders and code names."""
from protocol import codes as W
from pumphost import codes as C

ML = 1000000            # nL per mL
ML_H = 1000000          # nL/h per mL/h


def continuous(rate_ml_h, volume_ml, drug_slot=0):
    return (C.K_CONTINUOUS, int(rate_ml_h * ML_H), int(volume_ml * ML), 0, 0, drug_slot)


def bolus(rate_ml_h, volume_ml):
    return (C.K_BOLUS, int(rate_ml_h * ML_H), int(volume_ml * ML), 0, 0, 0)


def syringe_change():
    return (C.K_SYRINGE, 0, 0, 0, 0, 0)


def drug_entry(drug_id, conc_mg_ml, **raise_limit):
    """What a program carries for a drug of the device library (firmware.druglib
    row: id, conc range, 8 limits), at `conc_mg_ml`; `raise_limit` forges one
    limit: index=factor."""
    from firmware.druglib import LIB
    row = next(r for r in LIB if r[0] == drug_id)
    limits = list(row[3:])
    for idx, factor in raise_limit.items():
        i = int(idx.lstrip('l'))
        limits[i] = int(limits[i] * factor)
    return (drug_id, int(round(conc_mg_ml * 1000))) + tuple(limits)


FLOXURIDINE, FLUOROURACIL, HEPARIN = 1, 2, 5
IDLE, REVIEW, READY, RUNNING = W.STATE_IDLE, W.STATE_REVIEW, W.STATE_READY, W.STATE_RUNNING
PAUSED, COMPLETE, ALARM, FAULT = W.STATE_PAUSED, W.STATE_COMPLETE, W.STATE_ALARM, W.STATE_FAULT
