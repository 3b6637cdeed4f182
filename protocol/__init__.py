"""Framed serial protocol shared by the pump firmware and host tools.

Kept deliberately empty of imports so that ``import protocol.frame`` on a
board does not drag every submodule into a small heap.  See SPEC.md for the
wire format; every module except ``protocol/tools`` runs unmodified on
MicroPython 1.29 and CPython 3.11.
"""

PROTOCOL_VERSION = 1
