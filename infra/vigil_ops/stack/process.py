"""Start, recognise and stop the stack's own processes.

A service runs as the leader of its own session (so every child it forks shares
its process group). Its pid file records the pid, the process group and the
kernel start time of the process, so that a pid reused by an unrelated process
is never taken for ours and never signalled.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PidRecord:
    pid: int
    pgid: int
    start_ticks: int
    cmd: list[str]


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name, or None if gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: split after its closing ')'.
    fields = raw[raw.rindex(")") + 2:].split()
    return None if fields[0] == "Z" else fields


def _start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat: when the process started (clock ticks)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def _pgrp(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[2]) if fields else None


def read_pid(pid_file: Path) -> PidRecord | None:
    try:
        d = json.loads(pid_file.read_text())
        return PidRecord(int(d["pid"]), int(d["pgid"]), int(d["start_ticks"]), list(d.get("cmd", [])))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_ours(rec: PidRecord | None) -> bool:
    """The recorded process is alive and is the very process we started."""
    return rec is not None and _start_ticks(rec.pid) == rec.start_ticks


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _pgrp(int(entry)) == pgid:
            out.append(int(entry))
    return out


def spawn(cmd: list[str], *, log_file: Path, pid_file: Path, cwd: Path, env: dict[str, str]) -> PidRecord:
    """Start cmd detached (new session), output appended to log_file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        log.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} start: {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=cwd, env=env, start_new_session=True, close_fds=True)
    ticks = None
    for _ in range(50):
        ticks = _start_ticks(proc.pid)
        if ticks is not None:
            break
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    rec = PidRecord(proc.pid, proc.pid, ticks or -1, cmd)
    tmp = pid_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(rec.__dict__))
    os.replace(tmp, pid_file)
    return rec


def stop(rec: PidRecord, timeout: float) -> bool:
    """SIGTERM the process group, wait, then SIGKILL what is left. True when gone."""
    if not is_ours(rec):
        return True
    _signal_group(rec.pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not group_members(rec.pgid):
            return True
        time.sleep(0.2)
    _signal_group(rec.pgid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not group_members(rec.pgid):
            return True
        time.sleep(0.1)
    return not group_members(rec.pgid)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def port_free(host: str, port: int) -> bool:
    """Whether we could listen on host:port right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def port_holder(port: int) -> str:
    """Best effort 'pid N (name)' of whoever listens on port, for messages."""
    try:
        out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True,
                             timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "another process"
    for line in out.splitlines():
        if "users:((" in line:
            users = line.split("users:((", 1)[1]
            name = users.split(",", 1)[0].strip('"')
            pid = users.split("pid=", 1)[1].split(",", 1)[0] if "pid=" in users else "?"
            return f"pid {pid} ({name})"
    return "another process"


def tail(path: Path, lines: int = 30) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(data.splitlines()[-lines:])
