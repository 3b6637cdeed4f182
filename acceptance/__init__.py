"""The hardware-in-the-loop acceptance suite: one suite for every target
(`--target`), traced to docs/safety/ hazards and requirements."""
