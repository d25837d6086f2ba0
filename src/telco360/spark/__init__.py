"""The PySpark side of the pipeline: plain functions that run unchanged on Glue 5.1 and local Spark."""
