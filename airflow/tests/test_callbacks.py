"""Failure alerts reach the task log and a webhook; a dead webhook never raises."""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import threading
import types

import pytest

from vigil_airflow import callbacks


@contextlib.contextmanager
def webhook_server():
    """A local HTTP server recording each POSTed JSON body: yields (url, received)."""
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Content-Type"], json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alert", received
    finally:
        server.shutdown()


@pytest.fixture
def webhook():
    with webhook_server() as hook:
        yield hook


def _context():
    ti = types.SimpleNamespace(dag_id="vigil_stream_supervisor", task_id="restart_stream",
                               run_id="scheduled__1", try_number=4)
    return {"ti": ti, "exception": RuntimeError("driver exited with code 1")}


def test_alert_posts_to_the_webhook_and_logs(webhook, monkeypatch, caplog):
    url, received = webhook
    monkeypatch.setenv("VIGIL_ALERT_WEBHOOK", url)
    with caplog.at_level(logging.ERROR, logger=callbacks.__name__):
        callbacks.alert_on_failure(_context())
    assert len(received) == 1
    content_type, payload = received[0]
    assert content_type == "application/json"
    assert payload["dag_id"] == "vigil_stream_supervisor" and payload["task_id"] == "restart_stream"
    assert payload["try_number"] == 4
    assert payload["error"] == "RuntimeError: driver exited with code 1"
    assert "VIGIL ALERT" in caplog.text and "restart_stream" in caplog.text


def test_a_dead_webhook_is_logged_not_raised(monkeypatch, caplog):
    monkeypatch.setenv("VIGIL_ALERT_WEBHOOK", "http://127.0.0.1:9/nothing-listens-here")
    with caplog.at_level(logging.ERROR, logger=callbacks.__name__):
        callbacks.alert_on_failure(_context())
    assert "webhook http://127.0.0.1:9/nothing-listens-here failed" in caplog.text


def test_post_webhook_reports_http_errors(webhook):
    url, _ = webhook
    assert callbacks.post_webhook(url, {"a": 1}) is True
    assert callbacks.post_webhook("not a url", {"a": 1}) is False
