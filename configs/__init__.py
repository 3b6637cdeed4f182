"""The shipped configs (pumps, drugs, programs, scenarios), installed with the
host package as `pumphost.configs`, so named configs resolve in an installed
wheel as in the repository."""
