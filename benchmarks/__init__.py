"""Benchmarks: `python -m benchmarks` prints a markdown table (see docs/performance.md)."""
