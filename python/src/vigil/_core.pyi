"""Type stubs of the compiled binding vigil._core."""

from typing import Optional, Sequence, TypedDict

import numpy as np
import numpy.typing as npt

def reject_reason_names() -> list[str]: ...
def anomaly_id(device_id: str, metric: str, event_id: str, detector_version: str) -> str: ...
def anomaly_json_lines(
    strings: dict[str, tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32], Optional[npt.NDArray[np.uint8]]]],
    numbers: dict[str, np.ndarray], pipeline_version: str, detector_version: str,
) -> tuple[bytes, npt.NDArray[np.int64]]: ...

class Router:
    def __init__(self, num_buckets: int, max_payload_bytes: int = 65536) -> None: ...
    def route(
        self,
        data: npt.NDArray[np.uint8],
        offsets: npt.NDArray[np.int32],
        validity: Optional[npt.NDArray[np.uint8]] = None,
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.int16]]: ...

# A string column: the buffers of an Arrow string array, (data uint8, offsets int32 of
# n + 1); vigil.arrow.string_array wraps them.
StringColumn = tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]

class ProcessResult(TypedDict):
    n_valid: int
    index: npt.NDArray[np.uint32]
    score: npt.NDArray[np.float64]
    severity: npt.NDArray[np.int16]
    value: npt.NDArray[np.float64]
    expected_low: npt.NDArray[np.float64]
    expected_high: npt.NDArray[np.float64]
    event_time_ms: npt.NDArray[np.int64]
    anomaly_id: StringColumn
    event_id: StringColumn
    device_id: StringColumn
    metric: StringColumn
    detectors: StringColumn
    explanation: StringColumn
    reject_index: npt.NDArray[np.uint32]
    reject_reason: npt.NDArray[np.int16]
    reject_detail: list[str]

class Engine:
    def __init__(self, config_yaml: str = "", max_payload_bytes: int = 65536) -> None: ...
    def process(
        self,
        data: npt.NDArray[np.uint8],
        offsets: npt.NDArray[np.int32],
        validity: Optional[npt.NDArray[np.uint8]] = None,
    ) -> ProcessResult: ...
    def process_ordered(
        self,
        chunks: Sequence[tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32], Optional[npt.NDArray[np.uint8]]]],
        order: npt.NDArray[np.int64],
    ) -> ProcessResult: ...
    def save_all(self) -> bytes: ...
    def load_all(self, blob: bytes) -> None: ...
    def clear(self) -> None: ...
    @property
    def num_devices(self) -> int: ...
    @property
    def memory_bytes(self) -> int: ...
    @property
    def detector_version(self) -> str: ...
    @property
    def detector_names(self) -> list[str]: ...

class KafkaPartitionReader:
    """Reads [start, end) offset ranges of one Kafka topic partition as columns (../kafka)."""
    def __init__(self, settings: list[tuple[str, str]], topic: str, partition: int) -> None: ...
    def seek(self, start: int, end: int) -> None: ...
    def next(
        self, max_messages: int, max_bytes: int, timeout_ms: int
    ) -> tuple[
        npt.NDArray[np.uint8],
        npt.NDArray[np.int32],
        Optional[npt.NDArray[np.uint8]],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
    ]: ...
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...

class KafkaOffsetClient:
    def __init__(self, settings: list[tuple[str, str]]) -> None: ...
    def partitions(self, topic: str, timeout_ms: int) -> list[int]: ...
    def watermarks(self, topic: str, partitions: list[int], timeout_ms: int) -> tuple[list[int], list[int]]: ...

def cap_end_offsets(start: list[int], latest: list[int], max_total: int) -> list[int]: ...
