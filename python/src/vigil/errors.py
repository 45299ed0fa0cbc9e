"""Exceptions of the core, mapped from its status codes in this one place.

The binding raises `from_status(code, message)` for every non-OK Status; each
class also subclasses the builtin exception a Python caller would expect.

>>> raise from_status(1, "num_buckets must be >= 1")
Traceback (most recent call last):
...
vigil.errors.VigilInvalid: num_buckets must be >= 1
>>> isinstance(from_status(3, "bad blob"), ValueError)
True
"""

from __future__ import annotations


class VigilError(Exception):
    """Base of every error the core reports."""

    code: int = 7


class VigilInvalid(VigilError, ValueError):
    code = 1


class VigilIOError(VigilError, OSError):
    code = 2


class VigilCorrupt(VigilError, ValueError):
    code = 3


class VigilNotFound(VigilError, KeyError):
    code = 4

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class VigilOutOfRange(VigilError, IndexError):
    code = 5


class VigilUnsupported(VigilError, NotImplementedError):
    code = 6


class VigilInternal(VigilError, RuntimeError):
    code = 7


_BY_CODE = {cls.code: cls for cls in (VigilInvalid, VigilIOError, VigilCorrupt, VigilNotFound,
                                      VigilOutOfRange, VigilUnsupported, VigilInternal)}


def from_status(code: int, message: str) -> VigilError:
    """Return the exception for a StatusCode value (unknown codes are VigilInternal)."""
    return _BY_CODE.get(code, VigilInternal)(message)
