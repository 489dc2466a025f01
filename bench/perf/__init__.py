"""Benchmarks that print speed ratios (run with `make perf`); timings are never asserted in tests."""
