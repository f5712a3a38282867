"""Reproducible benchmarks (`make bench`); results and their machine: docs/performance.md."""
