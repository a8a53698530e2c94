"""Synthetic projects at any size, deterministic by seed, for benchmarks and load tests."""
