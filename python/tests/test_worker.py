"""vigil_stream.worker: zip importers re-read their archive only when it changed."""

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import importlib, os, sys, zipfile, zipimport
    sys.path.insert(0, sys.argv[1])      # python/jobs
    archive = sys.argv[2]
    sys.path.insert(0, archive)
    import pkg_in_zip                    # creates the zipimporter for the archive
    imp = sys.path_importer_cache[archive]
    from vigil_stream import worker
    assert worker.install() is True
    assert worker.install() is False     # once per process
    reads = []
    real = zipimport._read_directory
    zipimport._read_directory = lambda a: (reads.append(a), real(a))[1]
    importlib.invalidate_caches()        # first call reads (no stamp yet)
    importlib.invalidate_caches()        # unchanged: no read
    importlib.invalidate_caches()
    print("unchanged", len(reads))
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr("added_later.py", "X = 2\\n")
    importlib.invalidate_caches()        # changed: read again, new module importable
    import added_later
    print("changed", len(reads), added_later.X)
""")


def test_invalidate_caches_rereads_only_changed_archives(tmp_path: Path):
    archive = tmp_path / "lib.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("pkg_in_zip.py", "X = 1\n")
    jobs = Path(__file__).resolve().parents[1] / "jobs"
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(jobs), str(archive)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.split()
    assert lines == ["unchanged", "1", "changed", "2", "2"], run.stdout


FREEZE_SCRIPT = """
import gc, sys
sys.path.insert(0, sys.argv[1])
from vigil_stream import worker
before = gc.get_freeze_count()
alive = len(gc.get_objects())
worker.freeze_heap()
frozen = gc.get_freeze_count()
kept = [[i] for i in range(1000)]          # created after the freeze: collected as usual
gc.collect()
print(before, frozen >= 0.9 * alive, gc.get_freeze_count() == frozen)
"""


def test_freeze_heap_takes_startup_objects_out_of_collections():
    jobs = Path(__file__).resolve().parents[1] / "jobs"
    run = subprocess.run([sys.executable, "-c", FREEZE_SCRIPT, str(jobs)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", "True", "True"], run.stdout


def test_tune_malloc_reuses_freed_buffers_instead_of_faulting_them_in_again():
    # A fresh process allocates, fills and frees six 8 MB buffers (a micro-batch's pieces)
    # three times; the last round's page faults show whether the memory went back to the
    # kernel (~3,000 faults here: glibc trims a free heap top above twice its mmap threshold)
    # or was reused. numpy allocates with malloc.
    import subprocess
    import sys
    code = r"""
import resource, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from vigil_stream import worker
if sys.argv[2] == "1":
    assert worker.tune_malloc() and worker.tune_malloc()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for round in range(3):
    f0 = faults()
    pieces = [np.empty(8 << 20, np.uint8) for _ in range(6)]
    for a in pieces:
        a.fill(1)
    del pieces, a
    print(faults() - f0)
"""
    jobs = str(Path(__file__).resolve().parents[1] / "jobs")

    def last_round(tuned: str) -> int:
        out = subprocess.run([sys.executable, "-c", code, jobs, tuned], capture_output=True, text=True, check=True)
        return int(out.stdout.split()[-1])
    assert last_round("0") > 2000     # glibc's defaults: a quarter of them faulted in again
    assert last_round("1") < 300      # tuned: the freed buffers are reused
