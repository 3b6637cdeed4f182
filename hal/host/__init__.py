"""Host-only HAL backends (CPython): excluded from the MicroPython gate by
design. Device-side backends live directly in `hal/`."""
