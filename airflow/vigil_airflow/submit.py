"""What to spark-submit for the streaming job: delegated to the code that owns the job.

``vigil_ops.stream`` (``./vigil stream start``) resolves the job's configuration and
knows its entry point, jars and environment; :func:`submit_spec` asks it, so the
supervisor and the command line always submit the same job.

The spec is a dict: ``application`` (required), ``application_args``, ``conf``,
``jars`` (comma-separated), ``py_files``, ``files``, ``env`` (dict), ``cwd``,
``driver_memory``.
"""

from __future__ import annotations

from typing import Any


class SubmitSpecError(RuntimeError):
    """The job's submit spec cannot be built; the message says what is missing."""


def submit_spec(settings: Any) -> dict[str, Any]:
    try:
        from vigil_ops import stream as vigil_stream
        from vigil_ops.config import load
    except ImportError as e:
        raise SubmitSpecError(f"cannot import vigil_ops.stream ({e}): put the repository's infra/ "
                              "on PYTHONPATH of the Airflow processes") from None
    build = getattr(vigil_stream, "submit_spec", None)
    if build is None:
        raise SubmitSpecError("vigil_ops.stream has no submit_spec(cfg): the supervisor needs it to "
                              "submit the same job as './vigil stream start'")
    spec = dict(build(load()))
    if not spec.get("application"):
        raise SubmitSpecError(f"vigil_ops.stream.submit_spec returned no 'application': {sorted(spec)}")
    return spec
