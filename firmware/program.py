"""Infusion program as the device holds it: integer steps, checked on the device.

A step is (kind, rate_nl_h, volume_nl, duration_s, arg, drug_slot):
  CONTINUOUS  rate until volume (the host turns a duration into a volume)
  RAMP        rate -> arg (end rate) linearly over duration_s, in ramp_parts()
              integer sub-steps; volume must equal ramp_volume_nl()
  BOLUS       rate until volume, in the BOLUS state
  PAUSE       no motion for duration_s (DWELL state)
  KVO         keep-vein-open rate after the last step, until volume; last step
  SYRINGE     stop until the user confirms a new syringe (SYRINGE_CHANGE state)
  CYCLE       repeat steps[first..here-1] `times` more: arg = first << 16 | times
A program also carries its drugs (the library entries it was computed with:
drug id, concentration, soft and hard limits) and flags (FLAG_OVERRIDE: soft
limits knowingly exceeded; FLAG_STOP_ON_LINK_LOSS: pause, with a medium
alarm, when the host link is lost, instead of carrying on; firmware.link).
`validate()` (firmware.limits and firmware.dose_limits, imported only at
load) re-checks everything against the device's own library and limits.

Canonical encoding v2 (what the hash covers), little-endian:
  u8 version=2, u8 flags, u8 n_drugs 0..3, u8 n_steps 1..32
  n_drugs x {u16 drug_id, u32 conc (milli-units per mL: ug/mL, mU/mL),
             u32 soft rate_nl_h, dose_day_m, dose_cycle_m, vtbi_nl,
             u32 hard rate_nl_h, dose_day_m, dose_cycle_m, vtbi_nl}
  n_steps x {u8 kind, u32 rate_nl_h, u32 volume_nl, u32 duration_s, u32 arg, u8 drug_slot}
"""

from firmware.compat import call_transient

# step kinds, flags, journal events and MAX_BYTES: pumphost.codes


def ramp_parts(duration_s):
    """Sub-steps of a ramp: one per minute, 1..16."""
    k = duration_s // 60
    return 16 if k > 16 else (k if k > 0 else 1)


def ramp_sub(step, j):
    """(rate_nl_h, volume_nl) of sub-step j of a ramp step (midpoint rate)."""
    r0 = step[1]
    d = step[3]
    k = ramp_parts(d)
    rate = r0 + (step[4] - r0) * (2 * j + 1) // (2 * k)
    dur = d * (j + 1) // k - d * j // k
    return rate, rate * dur // 3600


class Program:
    def __init__(self, steps, drugs=(), flags=0):
        # steps: (kind, rate_nl_h, volume_nl[, duration_s[, arg[, drug_slot]]])
        out = []
        for s in steps:
            s = tuple(s)
            out.append(s + (0,) * (6 - len(s)) if len(s) < 6 else s)
        self.steps = tuple(out)
        self.drugs = tuple(tuple(d) for d in drugs)
        self.flags = flags
        self.total_nl = None   # set by validate (cycles expanded)
        self.total_s = 0
        self.soft = None       # (slot, limit code, value) of a soft limit overridden

    def total_volume_nl(self):
        if self.total_nl is not None:
            return self.total_nl
        t = 0
        for s in self.steps:
            t += s[2]
        return t

    def validate(self, settings):
        """None if acceptable, else 'field=value not allowed (allowed ...)'.
        Two stages (firmware.limits, then firmware.dose_limits), imported
        one after the other; on MicroPython each checker, and the drug
        table, leaves the heap again before the next loads."""
        return (call_transient('limits', 'check', self, settings)
                or call_transient('dose_limits', 'check', self, settings))

    def encode(self):
        """Canonical bytes (what the hash covers). Call after validate()."""
        return call_transient('program_codec', 'encode', self)

    def digest(self):
        return call_transient('program_codec', 'digest', self)


def decode(buf, n):
    """Program from canonical bytes buf[0:n], or None if malformed."""
    return call_transient('program_codec', 'decode', buf, n)
