"""Real health checks: each speaks the service's own protocol.

Each check returns None when healthy, else a short reason.
"""

from __future__ import annotations

import json
import socket
import struct
import urllib.error
import urllib.request

_CLIENT_ID = b"vigil-stack"


def _kafka_call(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> bytes:
    header = struct.pack(">hhih", api_key, version, corr, len(_CLIENT_ID)) + _CLIENT_ID
    msg = header + body
    sock.sendall(struct.pack(">i", len(msg)) + msg)
    size = struct.unpack(">i", _recv(sock, 4))[0]
    resp = _recv(sock, size)
    got = struct.unpack(">i", resp[:4])[0]
    if got != corr:
        raise ConnectionError(f"correlation id {got}, expected {corr}")
    return resp[4:]


def _recv(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        buf += chunk
    return buf


def kafka(bootstrap: str, timeout: float = 3.0) -> str | None:
    """ApiVersions v0, then Metadata v4: the broker answers and has registered."""
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as s:
            s.settimeout(timeout)
            body = _kafka_call(s, 18, 0, 1, b"")  # ApiVersions
            err = struct.unpack(">h", body[:2])[0]
            if err != 0:
                return f"ApiVersions error code {err}"
            # Metadata v4: topics = null (all), allow_auto_topic_creation = false.
            body = _kafka_call(s, 3, 4, 2, struct.pack(">ib", -1, 0))
            n_brokers = struct.unpack(">i", body[4:8])[0]
            if n_brokers < 1:
                return "no broker registered yet"
    except (OSError, ConnectionError, struct.error, ValueError) as e:
        return f"no Kafka answer on {bootstrap}: {e}"
    return None


def http_ok(url: str, timeout: float = 3.0) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            if r.status == 200:
                return None
            return f"HTTP {r.status} from {url}"
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code} from {url}"
    except (OSError, ValueError) as e:
        return f"no answer from {url}: {e}"


def _json(req: urllib.request.Request | str, what: str, timeout: float) -> tuple[dict | None, str | None]:
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"{}"), None
    except urllib.error.HTTPError as e:
        return None, f"HTTP {e.code} from {what}"
    except (OSError, ValueError) as e:
        return None, f"no answer from {what}: {e}"


def dynamodb(endpoint: str, timeout: float = 3.0) -> str | None:
    """A ListTables call (DynamoDB Local accepts any SigV4-shaped credentials)."""
    req = urllib.request.Request(
        endpoint.rstrip("/") + "/", data=b"{}", method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": "AWS4-HMAC-SHA256 Credential=health/20260101/us-east-1/dynamodb/aws4_request, "
                             "SignedHeaders=host, Signature=0",
        })
    doc, err = _json(req, f"{endpoint} ListTables", timeout)
    if err:
        return err
    return None if "TableNames" in doc else f"unexpected ListTables answer from {endpoint}: {str(doc)[:200]}"


def minio(endpoint: str, timeout: float = 3.0) -> str | None:
    return http_ok(endpoint.rstrip("/") + "/minio/health/live", timeout)


def airflow(base_url: str, timeout: float = 5.0) -> str | None:
    """Airflow 3's /api/v2/monitor/health: metadatabase and scheduler healthy."""
    url = base_url.rstrip("/") + "/api/v2/monitor/health"
    doc, err = _json(url, url, timeout)
    if err:
        return err
    for part in ("metadatabase", "scheduler", "dag_processor"):
        status = (doc.get(part) or {}).get("status")
        if status != "healthy":
            return f"{part} is {status or 'unknown'}"
    return None
