"""Per-task overhead of the job's Python processes that this job removes.

PySpark's worker calls `importlib.invalidate_caches()` at the start of every task
(`pyspark.worker_util.setup_spark_files`). On Python 3.10-3.12 that makes every
`zipimporter` on `sys.path_importer_cache` re-read its whole archive directory,
and a worker's path holds pyspark.zip (1,300 entries) and the spark-core jar
(5,400 entries), with one importer per package directory imported from them.
Measured in a worker of this job: ~120 ms per task, for two tasks per bucket and
micro-batch, that is a quarter of a 10,000-event batch's time. (Python 3.13 made
the re-read lazy.)

`install()` makes each importer's re-read conditional on its archive having
changed since that importer last read it (size or mtime); an archive that changed is re-read exactly as before, so imports see the
same files. It runs when the job's transform module is imported in a worker, so
from the worker's second task on.

`tune_malloc()` keeps freed memory in glibc's heap for the next batch. Every batch
allocates its Kafka ranges (~60 MB per 250,000 events), the engine's output and
Arrow's buffers afresh; with glibc's defaults a buffer over its mmap threshold is
returned to the kernel when freed, and the next batch's buffer is faulted in and
zeroed page by page again (`clear_page_erms` was ~10% of the workers' CPU, perf).
Pieces of at most 8 MB (source.READ_BYTES) under a fixed 32 MB mmap threshold and a
256 MB trim threshold (what a worker keeps at most): one read-detect-pack of a
250,000-event range, 4 alternating pairs against 32 MB pieces and glibc's defaults,
faults 18,000-19,800 -> 8,000-10,100 and CPU 573-618 -> 523-581 ms (bench/RESULTS.md).

`freeze_heap()` takes the objects alive after start-up (the modules of pyspark,
pyarrow, pandas, boto3's service models: ~130,000 objects) out of the garbage
collector's reach. A full collection walks every tracked object, 50-70 ms for these,
and runs in whichever thread allocated last, holding the GIL: a pause in the middle
of a micro-batch. Objects created later are collected as before.
"""

from __future__ import annotations

import ctypes
import gc
import os
import zipimport

_MARK = "_vigil_stat_checked"


def install() -> bool:
    """Patch zipimporter.invalidate_caches once per process; True if this call patched it."""
    original = zipimport.zipimporter.invalidate_caches
    if getattr(original, _MARK, False):
        return False

    def invalidate_caches(self) -> None:
        try:
            st = os.stat(self.archive)
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp is not None and getattr(self, _MARK, None) == stamp:
            return
        original(self)
        setattr(self, _MARK, stamp)

    setattr(invalidate_caches, _MARK, True)
    zipimport.zipimporter.invalidate_caches = invalidate_caches
    return True


def freeze_heap() -> None:
    """Exclude every object alive now from future collections (gc.freeze); see the module doc."""
    gc.collect()
    gc.freeze()


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20    # glibc's largest
TRIM_THRESHOLD = 256 << 20
_TUNED = False


def tune_malloc() -> bool:
    """Keep freed buffers in glibc's heap (see the module doc); False where libc is not glibc."""
    global _TUNED
    if _TUNED:
        return True
    try:
        libc = ctypes.CDLL("libc.so.6")
        _TUNED = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
            bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):
        return False
    return _TUNED
