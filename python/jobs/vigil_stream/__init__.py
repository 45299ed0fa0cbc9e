"""The Vigil Spark Structured Streaming job (PySpark wiring only; detection is C++)."""
