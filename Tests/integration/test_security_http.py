"""Attacks on the HTTP side of a running `reflex serve` (issue 12): gzip bodies with bytes after the
end of the stream, connections that never send a request, and more connections than the cap.

Standard library only: urllib for requests, raw sockets for the slow and idle clients.
"""

from __future__ import annotations

import gzip
import json
import socket
import time
import urllib.error
import urllib.request

import pytest

from conftest import BROKER_KIND, BrokerProcess
from helpers import V5, MqttClient, unique
from test_auth import add_device, first_admin_token

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex HTTP API")


def start_node(tmp_path_factory, tls_files, name: str, env: dict[str, str] | None = None) -> BrokerProcess:
    b = BrokerProcess("reflex", tmp_path_factory.mktemp(name), tls_files, env)
    b.allow_anonymous = False
    b.device_token = add_device(b.data_dir, "pumpA")
    b.start()
    b.admin_token = first_admin_token(b)
    return b


def call(broker, method: str, path: str, *, token: str | None = None, body: bytes | None = None,
         headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{broker.http_port}{path}", data=body, method=method)
    if token:
        req.add_header("Authorization", f"Token {token}")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def gzip_write(broker, body: bytes, timeout: float = 10) -> tuple[int, bytes]:
    return call(broker, "POST", "/api/v2/write?org=o&bucket=b&precision=ns", token=broker.admin_token, body=body,
                headers={"Content-Encoding": "gzip"}, timeout=timeout)


def assert_node_answers(broker) -> None:
    """HTTP /health answers, and an MQTT client (the admin) connects and round-trips a message."""
    status, body = call(broker, "GET", "/health", timeout=5)
    assert status == 200 and json.loads(body)["status"] == "ok"
    c = MqttClient(broker, unique("sec").replace("/", "-"), V5, connect=False)
    c.c.username_pw_set("operator:initial-admin", broker.admin_token)
    c.connect(timeout=5)
    try:
        t = unique("sec")
        c.subscribe(f"{t}/#", qos=1)
        c.publish(f"{t}/x", b"ping", qos=1)
        assert c.expect_message(timeout=5).payload == b"ping"
    finally:
        c.c.disconnect()
        c.c.loop_stop()


def raw_samples(broker, device: str, series: str) -> list[float]:
    status, body = call(broker, "GET", f"/api/v1/devices/{device}/series/{series}/raw?limit=100",
                        token=broker.admin_token)
    assert status == 200, body
    return [s["value"] for s in json.loads(body)["samples"]]


# ------------------------------------------------------------------------------------------------
# Item 2: gzip bodies with bytes after the end of the stream
# ------------------------------------------------------------------------------------------------

def test_gzip_with_trailing_byte_is_refused_and_the_node_keeps_serving(tmp_path_factory, tls_files):
    """The reproducer of issue 12 (one gzip member, then 'J'), sent twice, as the attack on 2 cores did.

    Before the fix each request pinned a thread forever: the requests timed out, /health and MQTT
    stopped answering, and SIGTERM did not stop the node.
    """
    b = start_node(tmp_path_factory, tls_files, "gzip-trailing")
    try:
        reproducer = gzip.compress(b"x,device=pumpA v=1\n") + b"J"
        for _ in range(2):
            status, body = gzip_write(b, reproducer, timeout=8)
            assert status == 400, body
            message = json.loads(body)["message"]
            assert f"byte {len(reproducer) - 1}" in message and "not a gzip member" in message, message
        # Truncated member and plain garbage: 400 too, each naming where.
        status, body = gzip_write(b, gzip.compress(b"x,device=pumpA v=2\n")[:-3], timeout=8)
        assert status == 400 and "truncated" in json.loads(body)["message"], body
        status, body = gzip_write(b, b"\x1f\x8bnot gzip at all", timeout=8)
        assert status == 400 and "corrupt" in json.loads(body)["message"], body
        assert raw_samples(b, "pumpA", "x.v") == []
        assert_node_answers(b)
        status, body = call(b, "GET", "/api/v1/ingest/stats", token=b.admin_token)
        assert status == 200 and json.loads(body)["http"]["rejectedRequests"] >= 4, body
    finally:
        b.stop()  # fails unless the node exits 0 within 10 s of SIGTERM


def test_concatenated_gzip_members_are_all_stored(tmp_path_factory, tls_files):
    """`cat a.gz b.gz`: every line of both members is stored, as gzip -d and Telegraf read it."""
    b = start_node(tmp_path_factory, tls_files, "gzip-members")
    try:
        now_ns = time.time_ns()
        first = "".join(f"flow,device=pumpA rate={i} {now_ns - (6 - i) * 10**9}\n" for i in range(3))
        second = "".join(f"flow,device=pumpA rate={i} {now_ns - (6 - i) * 10**9}\n" for i in range(3, 6))
        status, body = gzip_write(b, gzip.compress(first.encode()) + gzip.compress(second.encode()))
        assert status == 204, body
        assert raw_samples(b, "pumpA", "flow.rate") == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        assert_node_answers(b)
    finally:
        b.stop()
