"""Benchmarks: each bench/bench_<name>.py has a run() that prints its figures (`make bench`)."""
