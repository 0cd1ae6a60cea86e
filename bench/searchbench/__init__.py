"""The parts of `bench/bench_search.py`: synthetic surfaces, the ask/tell runs and their figures.

Described in `bench/bench_search.py`'s docstring; the numbers in `surfaces.py` are the truth.
"""
