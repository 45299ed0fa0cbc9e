"""Vigil: the C++ anomaly-detection core for Python and Spark.

`vigil._core` is the compiled binding; this package re-exports it, adds the
exception classes (vigil.errors) and the zero-copy Arrow helpers (vigil.arrow).
"""

from vigil import errors
from vigil._core import (Engine, KafkaOffsetClient, KafkaPartitionReader, Router, anomaly_id,
                         anomaly_json_lines, cap_end_offsets, reject_reason_names)
from vigil.errors import VigilError

__all__ = ["Engine", "KafkaOffsetClient", "KafkaPartitionReader", "Router", "VigilError", "anomaly_id",
           "anomaly_json_lines", "cap_end_offsets", "errors", "reject_reason_names"]
__version__ = "0.1.0"
