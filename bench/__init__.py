"""Benchmarks of eventschema-tools; run them all with `make bench` (python -m bench)."""
