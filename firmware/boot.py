"""One boot path for every board entry, the simulator's runtimes and the benches.

HAL -> settings with the stored calibration -> Pump -> control Loop. The
serial Link joins after the first tick (POST), once the pump knows its state:
the entry creates it then, with its own key and serial number.
"""
from firmware.compat import call_transient
from firmware.loop import Loop
from firmware.pump import Pump


def boot(hal, settings):
    """Build the pump on `hal`; returns (pump, loop, calibration record
    applied or None). The stored calibration, if valid, replaces the
    nominal step volume and pressure zero and span in `settings` before the
    Pump reads them, and a stored mechanism table goes to the Pump's course
    (firmware/compensation.py); the calibration module leaves the heap
    again."""
    rec = call_transient('calibration', 'boot_settings', settings, hal.storage)
    pump = Pump(hal, settings)
    if settings.compensation is not None or settings.compensation_rejected:
        # the mechanism table (or its refusal, journaled): only a calibrated
        # pump carries the compensation module
        from firmware.compensation import attach
        attach(pump, settings)
    return pump, Loop(pump, hal.clock), rec
