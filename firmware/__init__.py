"""Device firmware: runs unmodified on MicroPython and CPython.

Touches hardware only through the `hal` bundle it is given.
"""
