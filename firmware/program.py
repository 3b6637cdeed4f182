"""Infusion program as the device holds it: integer steps, checked on the device.

A program is a sequence of steps. The spine knows one kind, CONTINUOUS
(rate_nl_h until volume_nl is delivered); later kinds (ramp, intermittent
bolus, pause, KVO, cycles) are added here and in the table. Whatever the host
computed, `validate()` re-checks every step against the device's own hard
limits, so a host that is bypassed or wrong cannot make the pump exceed them.
"""
import hashlib
import struct

from firmware.compat import const

K_CONTINUOUS = const(1)
KIND_NAMES = {K_CONTINUOUS: 'continuous'}

_U32_MAX = const(0xFFFFFFFF)


class Program:
    def __init__(self, steps):
        # steps: sequence of (kind, rate_nl_h, volume_nl)
        self.steps = tuple(tuple(s) for s in steps)

    def total_volume_nl(self):
        t = 0
        for s in self.steps:
            t += s[2]
        return t

    def validate(self, settings):
        """None if acceptable, else 'field=value not allowed (allowed ...)'."""
        if not self.steps:
            return 'steps=[] not allowed (at least one step)'
        if len(self.steps) > 32:
            return 'steps has %d entries (at most 32)' % len(self.steps)
        for i in range(len(self.steps)):
            s = self.steps[i]
            if len(s) != 3:
                return 'steps[%d] has %d fields (kind, rate_nl_h, volume_nl)' % (i, len(s))
            kind, rate, vol = s
            if kind not in KIND_NAMES:
                return 'steps[%d].kind=%r not allowed (known: %s)' % (
                    i, kind, ', '.join('%d=%s' % (k, KIND_NAMES[k]) for k in sorted(KIND_NAMES)))
            if type(rate) is not int or rate < settings.min_rate_nl_h or rate > settings.max_rate_nl_h:
                return 'steps[%d].rate_nl_h=%r not allowed (device limit %d..%d)' % (
                    i, rate, settings.min_rate_nl_h, settings.max_rate_nl_h)
            if type(vol) is not int or vol <= 0 or vol > settings.syringe_volume_nl:
                return 'steps[%d].volume_nl=%r not allowed (1..%d, the syringe)' % (
                    i, vol, settings.syringe_volume_nl)
        if self.total_volume_nl() > settings.syringe_volume_nl:
            return 'total volume_nl=%d not allowed (at most %d, the syringe)' % (
                self.total_volume_nl(), settings.syringe_volume_nl)
        return None

    def encode(self):
        """Canonical bytes (what the hash covers). Call after validate()."""
        out = bytearray(2 + 9 * len(self.steps))
        struct.pack_into('<H', out, 0, len(self.steps))
        o = 2
        for kind, rate, vol in self.steps:
            if not (0 <= kind <= 255 and 0 <= rate <= _U32_MAX and 0 <= vol <= _U32_MAX):
                raise ValueError('program value out of range for encoding')
            struct.pack_into('<BII', out, o, kind, rate, vol)
            o += 9
        return bytes(out)

    def digest(self):
        return hashlib.sha256(self.encode()).digest()
