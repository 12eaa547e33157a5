"""The benchmark harness: `make bench` (python -m benchmarks) measures Follow-up at 10,000 items."""
