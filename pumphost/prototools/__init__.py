"""Host-only protocol tools (vector generation, codec benchmark, fuzzer)."""
