"""Benchmarks of Qinling against its peers; run ``python -m bench all``."""
