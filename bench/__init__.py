"""Benchmarks of the suite: `python -m bench [names...]` writes its figures to docs/benchmarks.md.

See bench/README.md for the contract a benchmark module follows.
"""
