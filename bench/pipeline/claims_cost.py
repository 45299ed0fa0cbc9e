"""What a DynamoDB claim costs: the sink's ClaimStore.claim on fresh ids, per item.

    ./vigil stack up dynamodb
    $VIGIL_HOME/venv/bin/python bench/pipeline/claims_cost.py [--items 200] [--per-group 1] [--repeats 30]

Claims `--items` new anomaly ids per call, `--per-group` of them in each claim group (one
DynamoDB item per group, as the sink groups a device's anomalies of one event-time
window; TransactWriteItems of up to 100 groups) on a scratch table, `--repeats` times,
and prints the median wall time per anomaly (and with --calls-per-group N, N consecutive
calls add to the same groups, as consecutive micro-batches fill one window's items).
On the local stack it also reads DynamoDB Local's CPU time from /proc (the process
listening on the configured port), which is what a claim costs there: the server
serialises transactions. The table is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "infra"))
sys.path.insert(0, str(REPO / "python" / "jobs"))


def server_cpu_ms(pid: int | None) -> float | None:
    if pid is None:
        return None
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def local_pid(port: int) -> int | None:
    """The pid listening on 127.0.0.1:port, if it is on this machine."""
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    for part in out.split("pid=")[1:]:
        return int(part.split(",", 1)[0])
    return None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=200, help="ids per claim call")
    p.add_argument("--per-group", type=int, default=1, help="ids per claim group (DynamoDB item)")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--warmup", type=int, default=10, help="calls not counted (the server's JIT)")
    p.add_argument("--calls-per-group", type=int, default=1,
                   help="consecutive calls (batches) that add to the same groups, as consecutive "
                        "micro-batches add to the items of one event-time window")
    args = p.parse_args()
    import boto3
    from vigil_ops import config as vconfig
    from vigil_stream.claims import ClaimStore, ensure_table
    cfg = vconfig.load()
    ddb = boto3.client("dynamodb", **cfg.dynamodb_client_kwargs())
    table = f"vigil-claims-cost-{uuid.uuid4().hex[:8]}"
    ensure_table(ddb, table)
    store = ClaimStore(ddb, table)
    local = cfg.stack is not None and "127.0.0.1" in (cfg.dynamodb.endpoint or "")
    pid = local_pid(cfg.stack.dynamodb.port) if local else None
    walls, cpus = [], []
    try:
        for i in range(args.warmup + args.repeats):
            ids = [uuid.uuid4().hex for _ in range(args.items)]
            if i % args.calls_per_group == 0:
                groups = uuid.uuid4().hex
            c0, t0 = server_cpu_ms(pid), time.perf_counter()
            keys = [f"g{j // args.per_group}-{groups}" for j in range(len(ids))]
            got = store.claim(ids, f"bench:{i}", int(time.time() * 1000), keys=keys)
            wall = (time.perf_counter() - t0) * 1000
            if len(got.mine) != args.items:
                raise SystemExit(f"claims_cost: {len(got.mine)} of {args.items} ids claimed")
            if i >= args.warmup:
                walls.append(wall / args.items)
                if pid is not None:
                    cpus.append((server_cpu_ms(pid) - c0) / args.items)
    finally:
        ddb.delete_table(TableName=table)
    print(json.dumps({"items_per_call": args.items, "per_group": args.per_group, "repeats": args.repeats,
                      "calls_per_group": args.calls_per_group,
                      "wall_us_per_anomaly_median": round(statistics.median(walls) * 1000, 2),
                      "server_cpu_us_per_anomaly_median": round(statistics.median(cpus) * 1000, 2) if cpus else None},
                     indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
