"""Firmware version and the reason codes commands return.

A module of its own so that code outside the control loop (the link handler,
host tools) can name them without importing the whole Pump.
"""
from firmware.compat import const

FIRMWARE_VERSION = '0.1.0'

_OK = const(0)
_E_BAD_STATE = const(1)
_E_INVALID = const(2)
_E_HASH = const(3)
_E_NOT_READY = const(4)
REASON_NAMES = ('ok', 'bad_state', 'invalid', 'hash_mismatch', 'not_ready')
