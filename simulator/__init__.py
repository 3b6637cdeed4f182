"""Host-side simulator (CPython only): plant physics, faults, scenarios,
benches, plots and the `pumpsim` CLI. It drives the real firmware through the
HAL and never reaches into firmware internals beyond its public API."""
