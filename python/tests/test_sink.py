"""sink.write_batch against moto S3 + DynamoDB: layout, replay, duplicates, hours."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from vigil_stream.claims import ClaimStore
from vigil_stream.config import JobConfig
from vigil_stream.layout import HOUR_MS
from vigil_stream.sink import Fault, SinkContext, write_batch
from vigil_stream.transform import _ARROW_OUT

H10 = 1795428000000 - 1795428000000 % HOUR_MS  # an hour boundary in 2026


def rows(*dicts) -> pa.Table:
    cols = {f.name: [d.get(f.name) for d in dicts] for f in _ARROW_OUT}
    return pa.Table.from_pydict(cols, schema=_ARROW_OUT)


def h(name: str) -> str:
    """A test anomaly id: 32 hex digits (the engine's form) that still read as the name."""
    return name.encode().hex().rjust(32, "0")


def anomaly(name, device="dev-1", ts=H10 + 5000, offset=10, metric="temperature"):
    return {"kind": "anomaly", "bucket": 0, "anomaly_id": h(name), "event_id": f"e-{name}", "device_id": device,
            "metric": metric, "event_time_ms": ts, "value": 99.5, "expected_low": 10.0,
            "expected_high": 30.0, "score": 0.97, "severity": 91, "detectors": "ewma,rules",
            "explanation": '{"metric":"temperature"}', "kafka_topic": "t", "kafka_partition": 0,
            "kafka_offset": offset, "kafka_timestamp_ms": ts + 10}


def dead(offset, reason="malformed_json", ts=H10 + 1000):
    return {"kind": "dead", "bucket": 1, "kafka_topic": "t", "kafka_partition": 1, "kafka_offset": offset,
            "kafka_timestamp_ms": ts, "reason": reason, "detail": "bad", "raw": b"{not json"}


def stats(n_input, n_valid, n_invalid=0, n_late=0, wm=0, min_ev=H10):
    return {"kind": "stats", "bucket": 0, "n_input": n_input, "n_valid": n_valid, "n_invalid": n_invalid,
            "n_late": n_late, "watermark_ms": wm, "min_event_ms": min_ev, "devices": 1,
            "state_bytes": 100, "process_ns": 1000}


def context(aws, owner="query-1", **overrides) -> SinkContext:
    s3, ddb = aws
    cfg = JobConfig.from_dict({"kafka_bootstrap": "k:9092", "kafka_topic": "t", "s3_bucket": "out",
                               "ddb_table": "claims", "checkpoint_location": "/tmp/cp", **overrides})
    clock = iter(range(1795430000000, 1795430000000 + 10**6, 1000))
    return SinkContext(cfg=cfg, s3=s3, claims=ClaimStore(ddb, "claims", sleep=lambda s: None, parallel=1),
                       owner=owner, detector_version="vigil-test/1", clock_ms=lambda: next(clock))


def objects(s3, prefix="") -> dict[str, bytes]:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="out", Prefix=prefix):
        for o in page.get("Contents", []):
            if not o["Key"].startswith("_vigil/progress/"):
                out[o["Key"]] = s3.get_object(Bucket="out", Key=o["Key"])["Body"].read()
    return out


def test_batch_writes_anomalies_and_dead_letters_at_deterministic_keys(aws):
    ctx = context(aws)
    p = write_batch(ctx, rows(anomaly("b"), anomaly("a", ts=H10 + 1000), dead(7), stats(3, 2, 1)), 4)
    objs = objects(aws[0])
    key = "dt=2026-11-23/hr=10/part-00000004-0000.json"
    assert sorted(objs) == ["_vigil/hours.json", "dead-letter/dt=2026-11-23/hr=10/part-00000004-0000.json", key]
    lines = [json.loads(x) for x in objs[key].splitlines()]
    assert [r["anomaly_id"] for r in lines] == [h("a"), h("b")]  # sorted by event time
    assert lines[0]["detectors"] == ["ewma", "rules"] and lines[0]["detector_version"] == "vigil-test/1"
    assert lines[0]["event_time"] == "2026-11-23T10:00:01.000Z"
    assert lines[0]["detected_at"].startswith("2026-11-")
    dl = json.loads(objs["dead-letter/dt=2026-11-23/hr=10/part-00000004-0000.json"])
    assert dl["reason"] == "malformed_json" and dl["raw_base64"] == "e25vdCBqc29u" and dl["kafka_offset"] == 7
    assert p["anomalies_written"] == 2 and p["dead_letters"] == 1 and p["reasons"] == {"malformed_json": 1}
    assert p["input"] == 3 and p["valid"] == 2 and p["invalid"] == 1


def test_an_open_expected_range_is_written_as_null(aws):
    # A max-only rule has expected_low = -inf; JSON has no infinity, so the record says null.
    a = {**anomaly("inf"), "expected_low": float("-inf"), "expected_high": 30.0}
    write_batch(context(aws), rows(a, stats(1, 1)), 0)
    line = json.loads(objects(aws[0])["dt=2026-11-23/hr=10/part-00000000-0000.json"])
    assert line["expected_low"] is None and line["expected_high"] == 30.0 and line["value"] == 99.5


def test_replay_of_a_batch_rewrites_identical_bytes(aws):
    ctx = context(aws)
    batch = rows(anomaly("a"), anomaly("b", device="dev-2"), dead(3), stats(3, 2, 1))
    write_batch(ctx, batch, 0)
    first = objects(aws[0])
    p = write_batch(context(aws), batch, 0)  # a restarted job: same owner, later clock
    assert objects(aws[0]) == first
    assert p["replayed_claims"] == 2 and p["duplicates_dropped"] == 0 and p["anomalies_written"] == 2


def test_duplicates_in_batch_and_across_batches_give_one_record(aws):
    ctx = context(aws)
    p0 = write_batch(ctx, rows(anomaly("a", offset=5), anomaly("a", offset=9), stats(2, 2)), 0)
    assert p0["anomalies_written"] == 1 and p0["duplicates_dropped"] == 1
    p1 = write_batch(ctx, rows(anomaly("a", offset=20), anomaly("c"), stats(2, 2)), 1)
    assert p1["anomalies_written"] == 1 and p1["duplicates_dropped"] == 1
    recs = [json.loads(line) for body in objects(aws[0], "dt=").values() for line in body.splitlines()]
    assert sorted(r["anomaly_id"] for r in recs) == [h("a"), h("c")]
    assert [r["kafka_offset"] for r in recs if r["anomaly_id"] == h("a")] == [5]
    # a batch writes what is new in its claim groups, decided by what the store wrote before
    assert p0["ddb_calls"] == 1 and p1["ddb_calls"] == 1
    p2 = write_batch(ctx, rows(anomaly("d"), stats(1, 1)), 2)
    assert p2["ddb_calls"] == 1 and p2["anomalies_written"] == 1
    # a restarted job (a new store, the same groups) reads them once, on a cancelled write
    p3 = write_batch(context(aws), rows(anomaly("a", offset=30), anomaly("e"), stats(2, 2)), 3)
    assert p3["ddb_calls"] == 3 and p3["anomalies_written"] == 1 and p3["duplicates_dropped"] == 1


def test_another_checkpoint_drops_what_the_first_wrote(aws):
    write_batch(context(aws, owner="query-1"), rows(anomaly("a"), stats(1, 1)), 0)
    p = write_batch(context(aws, owner="query-2"), rows(anomaly("a"), stats(1, 1)), 0)
    assert p["anomalies_written"] == 0 and p["duplicates_dropped"] == 1


def test_hours_close_once_the_watermark_passes_their_end(aws):
    ctx = context(aws)
    write_batch(ctx, rows(anomaly("a"), anomaly("b", ts=H10 + HOUR_MS + 1), stats(2, 2)), 0)
    assert "dt=2026-11-23/hr=10/_SUCCESS" not in objects(aws[0])
    p = write_batch(ctx, rows(stats(0, 0, wm=H10 + HOUR_MS + 10, min_ev=None)), 1)
    objs = objects(aws[0])
    assert p["hours_closed"] == ["2026-11-23T10:00:00.000Z"]
    assert "dt=2026-11-23/hr=10/_SUCCESS" in objs and "dt=2026-11-23/hr=11/_SUCCESS" not in objs
    manifest = json.loads(objs["dt=2026-11-23/hr=10/_manifest.json"])
    assert manifest["records"] == 1
    assert [f["key"] for f in manifest["files"]] == ["dt=2026-11-23/hr=10/part-00000000-0000.json"]
    # Hours with no anomalies between the first event and the watermark close too.
    p = write_batch(ctx, rows(stats(0, 0, wm=H10 + 3 * HOUR_MS + 10, min_ev=None)), 2)
    assert p["hours_closed"] == ["2026-11-23T11:00:00.000Z", "2026-11-23T12:00:00.000Z"]
    empty = json.loads(objects(aws[0])["dt=2026-11-23/hr=12/_manifest.json"])
    assert empty["records"] == 0 and empty["files"] == []


def test_an_hour_with_anomalies_of_this_batch_closes_after_they_are_written(aws):
    # The job's anomalies are never older than the batch's watermark; should one be, the
    # hour it falls in is closed only after the batch wrote it, so the manifest has it.
    ctx = context(aws, records_per_file=1)
    first = [anomaly(f"a{i}", ts=H10 + i) for i in range(12)]
    write_batch(ctx, rows(*first, stats(12, 12)), 0)
    p = write_batch(ctx, rows(anomaly("late-one", ts=H10 + 99), anomaly("b", ts=H10 + HOUR_MS + 20),
                              stats(2, 2, wm=H10 + HOUR_MS + 10)), 1)
    assert p["hours_closed"] == ["2026-11-23T10:00:00.000Z"]
    manifest = json.loads(objects(aws[0])["dt=2026-11-23/hr=10/_manifest.json"])
    assert manifest["records"] == 13 and len(manifest["files"]) == 13
    assert "dt=2026-11-23/hr=10/part-00000001-0000.json" in [f["key"] for f in manifest["files"]]


def test_records_per_file_splits_an_hour(aws):
    ctx = context(aws, records_per_file=2)
    write_batch(ctx, rows(*(anomaly(f"x{i}", ts=H10 + i) for i in range(5)), stats(5, 5)), 3)
    keys = sorted(k for k in objects(aws[0], "dt="))
    assert keys == [f"dt=2026-11-23/hr=10/part-00000003-000{n}.json" for n in range(3)]


@pytest.mark.parametrize("spec", ["after_claim", "boom:batch=1", "after_claim:batch=x", "mid_write:b=2"])
def test_fault_spec_errors_name_the_variable(spec):
    with pytest.raises(ValueError, match="VIGIL_FAULT"):
        Fault.parse(spec)


def test_fault_spec_parses():
    assert Fault.parse("mid_write:batch=3") == Fault("mid_write", 3)
    assert Fault.parse("") is None


def test_only_the_spark_55271_failure_restarts_the_query():
    from vigil_stream.job import is_spark_55271
    npe = ('[STREAM_FAILED] Query [id = 1] terminated with exception: Cannot invoke '
           '"scala.collection.IterableOps.map(scala.Function1)" because the return value of '
           '"scala.Option.get()" is null SQLSTATE: XXKST')
    assert is_spark_55271(RuntimeError(npe))
    assert not is_spark_55271(RuntimeError("java.lang.NullPointerException at Foo.bar"))
    assert not is_spark_55271(RuntimeError("[FOREACH_BATCH_USER_FUNCTION_ERROR] claims failed"))


def test_a_restarted_process_writes_the_same_manifest_from_the_files_metadata(aws):
    # The process that wrote an hour's files counts their records from memory; a new one
    # (after a crash, before the hour closed) reads them from each file's metadata.
    batch0 = rows(*[anomaly(f"a{i}", ts=H10 + i) for i in range(5)], stats(5, 5))
    batch1 = rows(stats(0, 0, wm=H10 + HOUR_MS + 10, min_ev=None))
    warm = context(aws, records_per_file=2)
    write_batch(warm, batch0, 0)
    assert sum(warm.written.values()) == 5
    write_batch(warm, batch1, 1)
    assert warm.written == {}  # forgotten once the hour closed
    from_memory = objects(aws[0])["dt=2026-11-23/hr=10/_manifest.json"]

    cold = context(aws, records_per_file=2)
    cold.s3.delete_object(Bucket="out", Key="dt=2026-11-23/hr=10/_manifest.json")
    cold.s3.put_object(Bucket="out", Key="_vigil/hours.json",
                       Body=json.dumps({"first_open_hour": H10 // HOUR_MS, "closed_through": None}).encode())
    write_batch(cold, batch1, 1)  # the replay of batch 1 in a new process
    from_metadata = objects(aws[0])["dt=2026-11-23/hr=10/_manifest.json"]
    assert json.loads(from_memory)["records"] == 5 and from_memory == from_metadata


def test_an_anomaly_record_has_every_field_in_order(aws):
    from vigil_stream.sink import ANOMALY_FIELDS
    ctx = context(aws, records_per_file=2)
    odd = {**anomaly("z", device='dev-"é"\n', ts=H10 + HOUR_MS + 7), "metric": None, "detectors": "",
           "explanation": None, "value": 3.0, "expected_high": float("nan")}
    write_batch(ctx, rows(*[anomaly(f"a{i}", ts=H10 + i) for i in range(3)], odd, stats(4, 4)), 9)
    objs = objects(aws[0])
    h10 = [json.loads(x) for k in ("dt=2026-11-23/hr=10/part-00000009-0000.json",
                                   "dt=2026-11-23/hr=10/part-00000009-0001.json") for x in objs[k].splitlines()]
    (h11,) = [json.loads(x) for x in objs["dt=2026-11-23/hr=11/part-00000009-0000.json"].splitlines()]
    assert [r["anomaly_id"] for r in h10] == [h("a0"), h("a1"), h("a2")]
    assert list(h10[0]) == ANOMALY_FIELDS == list(h11)
    assert h10[1] == {
        "anomaly_id": h("a1"), "event_id": "e-a1", "device_id": "dev-1", "metric": "temperature",
        "event_time": "2026-11-23T10:00:00.001Z", "event_time_ms": H10 + 1, "value": 99.5,
        "expected_low": 10.0, "expected_high": 30.0, "score": 0.97, "severity": 91,
        "detectors": ["ewma", "rules"], "explanation": '{"metric":"temperature"}', "kafka_topic": "t",
        "kafka_partition": 0, "kafka_offset": 10, "kafka_timestamp_ms": H10 + 11, "pipeline_version": "0.1.0",
        "detector_version": "vigil-test/1", "detected_at": "2026-11-23T10:33:20.000Z"}
    assert (h11["device_id"], h11["metric"], h11["detectors"], h11["explanation"]) == ('dev-"é"\n', None, [], "")
    assert h11["value"] == 3.0 and h11["expected_high"] is None



class _Raw:
    """An empty HTTP response body."""
    def stream(self):
        return iter(())


def test_the_job_s3_client_sends_bodies_with_a_crc32_checksum_and_without_a_sha256_hash(monkeypatch):
    from botocore.awsrequest import AWSResponse
    from vigil_stream.writer import aws_clients
    for k, v in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(k, v)
    cfg = JobConfig.from_dict({"kafka_bootstrap": "k:9092", "kafka_topic": "t", "s3_bucket": "out",
                               "ddb_table": "claims", "checkpoint_location": "/tmp/cp",
                               "s3_endpoint": "http://127.0.0.1:9"})
    s3, _ = aws_clients(cfg)
    sent = []

    def answer(request, **_):  # the request as it would go on the wire; nothing is sent
        sent.append(request.headers)
        return AWSResponse(request.url, 200, {}, _Raw())
    s3.meta.events.register_first("before-send.s3.PutObject", answer)
    s3.put_object(Bucket="out", Key="k", Body=b'{"a":1}\n')
    assert len(sent) == 1
    headers = {k.lower(): v for k, v in sent[0].items()}
    assert headers["x-amz-content-sha256"] in (b"UNSIGNED-PAYLOAD", "UNSIGNED-PAYLOAD")
    assert "x-amz-checksum-crc32" in headers
    assert "Signature=" in str(headers["authorization"])
