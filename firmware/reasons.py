"""Firmware version and the reason codes commands return.

A module of its own so that code outside the control loop (the link handler,
host tools) can name them without importing the whole Pump.
"""
FIRMWARE_VERSION = '0.1.0'

# reason codes (OK, E_*): pumphost.codes; names by code:
REASON_NAMES = ('ok', 'bad_state', 'invalid', 'hash_mismatch', 'not_ready')
