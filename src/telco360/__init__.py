"""Telco Customer 360: the compute layer (validator, Glue Job A, Glue Job B) and its tooling."""

__version__ = "0.1.0"
