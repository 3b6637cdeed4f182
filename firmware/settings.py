"""Device settings: integers with units, each with a hard range.

The firmware checks its own settings at boot, whoever supplied them (the
simulator, a board file, storage): a value outside its range is a FAULT, not
something to run with.
"""

# name, default, min, max: four entries per setting, one setting per line (a
# flat tuple: 30 small tuples cost about 0.7 KB more heap on the 64-bit unix port)
FIELDS = (
    'tick_ms', 100, 10, 100,  # control tick period
    'step_pl', 217070, 1000, 298000,  # volume per microstep, picolitres
    'syringe_volume_nl', 50000000, 1000000, 100000000,  # usable syringe volume
    'min_rate_nl_h', 10000, 1000, 1000000,  # lowest programmable rate
    'max_rate_nl_h', 150000000, 1000000, 999000000,  # device hard rate limit
    'pressure_zero_counts', 3000, 0, 20000,  # ADC counts at 0 mmHg
    'pressure_span_counts_per_100mmhg', 4000, 100, 20000,  # ADC gain
    'occlusion_delta_mmhg_x10', 1000, 100, 5000,  # occlusion alarm, above learned baseline
    'occlusion_suspect_mmhg_x10', 30, 30, 1000,  # rise above baseline that starts a probe
    'occlusion_probe_mmhg_x10', 250, 50, 1000,  # probe: push the line up this much, see it decay
    'pressure_hard_limit_mmhg_x10', 7500, 1000, 10000,  # absolute pressure ceiling
    'stall_tolerance_steps', 8, 1, 1000,  # commanded vs emitted steps before stall alarm
    'checkpoint_s', 60, 1, 3600,  # journal checkpoint period while infusing
    'watchdog_ms', 2000, 500, 90000,  # hardware watchdog timeout
    'max_late_ticks', 5, 1, 100,  # ticks the loop may fall behind before an overrun alarm
    'startup_fill_rate_nl_h', 0, 0, 100000000,  # start-up fill of the line compliance, 0 = off
    'air_bubble_limit_nl', 50000, 5000, 500000,  # single air bubble alarm
    'air_accum_limit_nl', 1000000, 50000, 5000000,  # accumulated air alarm over the window
    'air_window_min', 15, 1, 60,  # rolling window for accumulated air
    'step_travel_nm', 391, 50, 10000,  # plunger travel per microstep (1.25 mm / 3200)
    'near_empty_s', 900, 60, 7200,  # near-empty alarm: syringe time left at the current rate
    'pressure_stuck_s', 30, 5, 600,  # pressure reading unchanged while delivering: stuck
    'infusion_error_pct', 10, 2, 50,  # over/under infusion: plunger travel vs steps, over 15 min
    'battery_low_mv', 3600, 2500, 4500,  # on battery: low-battery alarm
    'battery_critical_mv', 3400, 2500, 4500,  # on battery: critical, the motor stops
    'alarm_escalate_s', 300, 30, 3600,  # medium alarm unacknowledged: annunciated as high
    'calibration_seq', 0, 0, 0x3FFFFFFF,  # stored calibration record in use (firmware/calibration.py), 0 = nominal figures
    'pump_kind', 0, 0, 1,  # 0 syringe; 1 peristaltic: no plunger, plunger_travel_um reads a constant (travel-based checks must be off)
)


class Settings:
    def __init__(self, **values):
        for i in range(0, len(FIELDS), 4):
            name = FIELDS[i]
            v = values.pop(name, FIELDS[i + 1])
            if type(v) is int:
                # a frozen image keeps FIELDS' ints above 8191 as long objects
                # in flash: arithmetic on one allocates, in the tick too.
                # `+ 0` makes it a small int, once.
                v = v + 0
            setattr(self, name, v)
        if values:
            raise ValueError('unknown setting(s): ' + ', '.join(sorted(values)))

    def validate(self):
        """None if every field is in range, else a message naming the first
        bad field, its value and the allowed range."""
        for i in range(0, len(FIELDS), 4):
            name, lo, hi = FIELDS[i], FIELDS[i + 2], FIELDS[i + 3]
            v = getattr(self, name)
            if type(v) is not int or v < lo or v > hi:
                return '%s=%r not allowed (integer %d..%d)' % (name, v, lo, hi)
        if self.min_rate_nl_h > self.max_rate_nl_h:
            return 'min_rate_nl_h=%d above max_rate_nl_h=%d' % (self.min_rate_nl_h, self.max_rate_nl_h)
        return None
