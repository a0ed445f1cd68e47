"""The benchmarks: one module per performance figure the project promises.

Each `benchmarks/bench_*.py` is run as a module from the repository root, so that it imports the
project's packages and its sibling modules by their package names:

    .venv/bin/python -m benchmarks.bench_graph --assets 10000

(`make bench` runs every one with its defaults.) `benchmarks/synthetic_library.py` is not a
benchmark but the synthetic library the web benchmark builds its library with.
"""
