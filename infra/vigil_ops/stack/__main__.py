"""vigil stack up|down|status|logs [SERVICE...]: the local services.

  up [SERVICE...] [--timeout S]    start what is not running, wait until healthy
  down [SERVICE...] [--purge]      stop what the stack started; --purge deletes data
  status [SERVICE...]              service, address, pid, answers or not
  logs [SERVICE] [-n N] [-f]       end of a service's log (all services without one)

Services: kafka, dynamodb, minio, airflow (default: all). The stack directory
(data, logs, pid files) is $VIGIL_STACK_DIR, default $VIGIL_HOME/services.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from vigil_ops import config as vconfig
from vigil_ops.stack import process
from vigil_ops.stack.services import SERVICES, ROOT, Paths, Service, StackError


def _paths(cfg: vconfig.Config) -> Paths:
    services = Path(os.environ.get("VIGIL_STACK_DIR") or cfg.home / "services").resolve()
    return Paths(cfg.home, services)


@contextmanager
def _locked(paths: Paths):
    paths.services.mkdir(parents=True, exist_ok=True)
    with open(paths.services / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("stack: another `vigil stack` command is running; waiting for it", file=sys.stderr)
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _select(names: list[str], cfg: vconfig.Config, paths: Paths) -> list[Service]:
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        raise StackError(f"unknown service {unknown[0]!r} (services: {', '.join(SERVICES)})")
    chosen = names or list(SERVICES)
    return [SERVICES[n](cfg, paths) for n in SERVICES if n in chosen]


def _say(msg: str) -> None:
    print(msg, flush=True)


def up(svcs: list[Service], timeout: float | None) -> int:
    if any(s.name == "airflow" for s in svcs) and not (svcs[0].paths.home / "airflow-venv" / "bin" / "airflow").exists():
        r = subprocess.run(["bash", str(ROOT / "infra" / "setup" / "setup.sh"), "airflow"])
        if r.returncode != 0:
            raise StackError("airflow: setting up its venv failed (see above)")
    to_start: list[Service] = []
    waiting: list[Service] = []
    for s in svcs:
        rec = process.read_pid(s.pid_file)
        if process.is_ours(rec):
            if s.check() is None:
                _say(f"{s.name:9} already running (pid {rec.pid}) at {s.address()}")
            else:
                waiting.append(s)
            continue
        s.pid_file.unlink(missing_ok=True)
        for port in s.ports():
            if not process.port_free(s.st.host, port):
                raise StackError(
                    f"{s.name}: port {port} on {s.st.host} is taken by {process.port_holder(port)}, "
                    f"not by this stack. Stop that process, or move {s.name} with "
                    f"VIGIL_{s.name.upper()}_PORT (or stack.{s.name} in {s.cfg.path}).")
        to_start.append(s)
    for s in to_start:
        s.dir.mkdir(parents=True, exist_ok=True)
        s.prepare()
        cmd, env = s.command()
        rec = process.spawn(cmd, log_file=s.log_file, pid_file=s.pid_file, cwd=s.dir, env=env)
        _say(f"{s.name:9} starting (pid {rec.pid}), log {s.log_file}")
        waiting.append(s)
    failed = []
    deadline_of = {s.name: time.monotonic() + (timeout or s.start_timeout) for s in waiting}
    pending = list(waiting)
    while pending:
        for s in list(pending):
            rec = process.read_pid(s.pid_file)
            if not process.is_ours(rec):
                failed.append((s, "the process exited during start"))
                pending.remove(s)
                continue
            reason = s.check()
            if reason is None:
                note = s.ready_note()
                _say(f"{s.name:9} healthy at {s.address()}" + (f"  {note}" if note else ""))
                pending.remove(s)
            elif time.monotonic() > deadline_of[s.name]:
                failed.append((s, f"not healthy after {timeout or s.start_timeout:.0f}s: {reason}"))
                pending.remove(s)
        if pending:
            time.sleep(0.5)
    for s, why in failed:
        if s in to_start:  # stop what this call started; leave older processes alone
            rec = process.read_pid(s.pid_file)
            if process.is_ours(rec):
                process.stop(rec, s.stop_timeout)
            s.pid_file.unlink(missing_ok=True)
        print(f"stack: {s.name} failed to start: {why}\n--- last lines of {s.log_file} ---\n"
              f"{process.tail(s.log_file)}\n---", file=sys.stderr)
    return 1 if failed else 0


def down(svcs: list[Service], purge: bool) -> int:
    rc = 0
    for s in reversed(svcs):
        rec = process.read_pid(s.pid_file)
        if process.is_ours(rec):
            _say(f"{s.name:9} stopping (pid {rec.pid})")
            if not process.stop(rec, s.stop_timeout):
                print(f"stack: {s.name}: processes of group {rec.pgid} survived SIGKILL", file=sys.stderr)
                rc = 1
                continue
            _say(f"{s.name:9} stopped")
        else:
            _say(f"{s.name:9} not running")
        s.pid_file.unlink(missing_ok=True)
        if purge and s.dir.exists():
            shutil.rmtree(s.dir)
            _say(f"{s.name:9} data removed ({s.dir})")
    return rc


def status(svcs: list[Service]) -> int:
    rc = 0
    _say(f"{'SERVICE':9} {'STATE':9} {'PID':>7}  {'ADDRESS':28} DETAIL")
    for s in svcs:
        rec = process.read_pid(s.pid_file)
        pid = str(rec.pid) if process.is_ours(rec) else "-"
        reason = s.check()
        if process.is_ours(rec):
            state, detail = ("healthy", "") if reason is None else ("unhealthy", reason)
        elif reason is None:
            state, detail = "foreign", "answers, but was not started by this stack"
        else:
            state, detail = "stopped", ""
        if state != "healthy":
            rc = 3
        _say(f"{s.name:9} {state:9} {pid:>7}  {s.address():28} {detail}")
    return rc


def logs(svcs: list[Service], lines: int, follow: bool) -> int:
    if follow:
        if len(svcs) != 1:
            raise StackError("logs -f follows one service: name it (e.g. vigil stack logs -f kafka)")
        os.execvp("tail", ["tail", "-n", str(lines), "-F", str(svcs[0].log_file)])
    for s in svcs:
        _say(f"==> {s.name}: {s.log_file} <==")
        _say(process.tail(s.log_file, lines))
    return 0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="vigil stack", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="start services and wait until they are healthy")
    p_up.add_argument("services", nargs="*")
    p_up.add_argument("--timeout", type=float, help="seconds to wait for each service (default per service)")
    p_down = sub.add_parser("down", help="stop the services this stack started")
    p_down.add_argument("services", nargs="*")
    p_down.add_argument("--purge", action="store_true", help="also delete their data and logs")
    p_st = sub.add_parser("status", help="show each service and whether it answers")
    p_st.add_argument("services", nargs="*")
    p_logs = sub.add_parser("logs", help="print the end of the services' logs")
    p_logs.add_argument("services", nargs="*")
    p_logs.add_argument("-n", "--lines", type=int, default=40)
    p_logs.add_argument("-f", "--follow", action="store_true")
    args = ap.parse_args(argv)
    try:
        cfg = vconfig.load()
        paths = _paths(cfg)
        svcs = _select(args.services, cfg, paths)
        if args.cmd == "status":
            return status(svcs)
        if args.cmd == "logs":
            return logs(svcs, args.lines, args.follow)
        with _locked(paths):
            if args.cmd == "up":
                return up(svcs, args.timeout)
            return down(svcs, args.purge)
    except (StackError, vconfig.ConfigError) as e:
        print(f"vigil stack: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
