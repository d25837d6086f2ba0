"""Benchmarks: each module prints its figures; ``python -m bench`` runs them all (``make bench``)."""
