"""What the benchmarks share: the runner, load generation, throwaway databases, profiles.

Every module directly under `bench/` (other than this package) is a benchmark; see README.md.
"""
