"""Issue 12, item 3 and low items, against the real binary: series limits per device, per node and per
minute (MQTT and HTTP writes), the node's reserved `anomaly:` namespace, honest timestamp reasons, and
a data directory private to its owner.

Each node is started WITHOUT --allow-anonymous, with registered devices and small limits via
REFLEX_INGEST_* environment variables.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BROKER_KIND, BrokerProcess
from helpers import CONNECT, DISCONNECT, V5, MqttClient, RawClient, decode_props, encode_props, mstr, packet, \
    publish_packet, unique
from test_auth import add_device, cli, first_admin_token, reflex_bin
from test_http import call

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex series limits")

QUOTA_EXCEEDED = 0x97
PAYLOAD_FORMAT_INVALID = 0x99
LIMIT_ENV = {
    "REFLEX_INGEST_MAX_SERIES_PER_DEVICE": "5",
    "REFLEX_INGEST_MAX_SERIES": "13",
    "REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE": "1000",
}


def start_node(tmp_path_factory, tls_files, name: str, devices: tuple[str, ...], env: dict[str, str]):
    b = BrokerProcess("reflex", tmp_path_factory.mktemp(name), tls_files, env)
    b.allow_anonymous = False
    b.tokens = {d: add_device(b.data_dir, d) for d in devices}
    b.start()
    b.admin_token = first_admin_token(b)
    return b


@pytest.fixture(scope="module")
def node(tmp_path_factory, tls_files):
    b = start_node(tmp_path_factory, tls_files, "limits", ("lim-a", "lim-b", "lim-c", "lim-h"), LIMIT_ENV)
    yield b
    b.stop()


def device(b: BrokerProcess, device_id: str) -> MqttClient:
    c = MqttClient(b, unique(device_id).replace("/", "-"), V5, connect=False)
    c.c.username_pw_set(device_id, b.tokens[device_id])
    c.connect()
    return c


def publish(b: BrokerProcess, device_id: str, values: dict, ts: int | None = None) -> int:
    """Publishes one QoS 1 telemetry message as the device and returns the PUBACK reason code."""
    c = device(b, device_id)
    try:
        body = {"values": values} | ({"ts": ts} if ts is not None else {})
        rc = c.publish(f"devices/{device_id}/telemetry", json.dumps(body), qos=1)
        return int(getattr(rc, "value", rc))
    finally:
        c.close()


def query(b: BrokerProcess, *args: str):
    return json.loads(cli(b.data_dir, "query", *args, "--json"))


def device_metrics(b: BrokerProcess, device_id: str) -> set[str]:
    return {s["metric"] for s in query(b, "series", device_id) if not s["metric"].startswith("anomaly:")}


def newest_letter(b: BrokerProcess, device_id: str) -> dict:
    letters = [x for x in query(b, "dead-letters", "--limit", "20") if x.get("device") == device_id]
    assert letters, f"no dead letter of {device_id}"
    return letters[0]


def wait_for(what: str, fetch, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fetch()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def stats(b: BrokerProcess) -> dict:
    status, body = call(b, "GET", "/api/v1/ingest/stats", token=b.admin_token)
    assert status == 200, body
    return json.loads(body)


def alarms(b: BrokerProcess, device_id: str) -> list[dict]:
    status, body = call(b, "GET", f"/api/v1/alarms?device={device_id}", token=b.admin_token)
    assert status == 200, body
    return json.loads(body)["alarms"]


def test_series_per_device_limit_refuses_new_metrics_keeps_the_rest_and_survives_a_restart(node):
    assert publish(node, "lim-a", {f"m{i}": i for i in range(1, 5)}) == 0
    # m5 fits, m6 and m7 do not: the message is partly stored, acknowledged as success.
    assert publish(node, "lim-a", {"m1": 10, "m5": 5, "m6": 6, "m7": 7}) == 0
    assert device_metrics(node, "lim-a") == {"m1", "m2", "m3", "m4", "m5"}
    letter = newest_letter(node, "lim-a")
    assert letter["reason"].startswith("series_limit:"), letter
    assert "'m6'" in letter["reason"] and "'m7'" in letter["reason"], letter
    assert "limit 5" in letter["reason"] and "REFLEX_INGEST_MAX_SERIES_PER_DEVICE" in letter["reason"], letter
    assert "ingest.maxSeriesPerDevice" in letter["reason"] and "--max-series-per-device" in letter["reason"]
    assert '"m6": 6.0' in letter["payload"] and '"m1"' not in letter["payload"], letter
    # Nothing of this one fits: 0x97 quota exceeded, and known series still pass.
    assert publish(node, "lim-a", {"m8": 8}) == QUOTA_EXCEEDED
    assert publish(node, "lim-a", {"m2": 2}) == 0
    assert device_metrics(node, "lim-a") == {"m1", "m2", "m3", "m4", "m5"}

    counters = stats(node)
    assert counters["series"]["samplesRefused"] >= 3, counters
    assert counters["series"]["refusedByLimit"]["seriesPerDevice"] >= 2, counters
    assert counters["series"]["maxSeriesPerDevice"] == 5, counters
    assert counters["mqtt"]["samplesOverLimit"] >= 3, counters

    raised = wait_for("the series limit alarm", lambda: [a for a in alarms(node, "lim-a")
                                                         if a["type"] == "series_limit.seriesPerDevice"])
    assert raised[0]["state"] == "active" and "limit 5" in raised[0]["message"], raised
    assert "lim-a" in raised[0]["message"], raised
    assert "Refused samples of new series over a series limit" in node.stderr_text()

    # Another device is not affected.
    assert publish(node, "lim-b", {f"b{i}": i for i in range(5)}) == 0
    assert len(device_metrics(node, "lim-b")) == 5

    # After a restart the limit counts the series that exist.
    node.restart()
    node.admin_token = first_admin_token(node)
    assert publish(node, "lim-a", {"m9": 9}) == QUOTA_EXCEEDED
    assert publish(node, "lim-a", {"m3": 3}) == 0
    assert device_metrics(node, "lim-a") == {"m1", "m2", "m3", "m4", "m5"}


def test_series_per_node_limit(node):
    # lim-a and lim-b hold 5 series each (previous test, or made here when run alone); the node keeps 13.
    for device_id, prefix in (("lim-a", "m"), ("lim-b", "b")):
        if len(device_metrics(node, device_id)) < 5:
            publish(node, device_id, {f"{prefix}{i}": i for i in range(1, 6)})
    assert publish(node, "lim-c", {"c1": 1, "c2": 2, "c3": 3, "c4": 4}) == 0
    assert device_metrics(node, "lim-c") == {"c1", "c2", "c3"}
    letter = newest_letter(node, "lim-c")
    assert "REFLEX_INGEST_MAX_SERIES" in letter["reason"] and "limit 13" in letter["reason"], letter
    wait_for("the node limit alarm", lambda: [a for a in alarms(node, "lim-c")
                                              if a["type"] == "series_limit.seriesPerNode"])


def test_http_writes_go_through_the_same_limits(node):
    lines = "\n".join(f"w,device=lim-h f{i}=1" for i in range(7)) + "\n"
    status, body = call(node, "POST", "/api/v2/write?org=o&bucket=b", token=node.admin_token,
                        body=lines.encode())
    # lim-h gets what the node limit (13) still allows, at most its own 5; the rest is refused.
    assert status == 422, body
    answer = json.loads(body)
    assert "series limit" in answer["message"] or "series_limit" in answer["message"], answer
    stored = device_metrics(node, "lim-h")
    assert len(stored) < 7, stored
    letter = newest_letter(node, "lim-h")
    assert letter["topic"] == "http:/api/v2/write" and letter["reason"].startswith("series_limit:"), letter


def test_devices_cannot_write_the_reserved_anomaly_namespace(node):
    assert publish(node, "lim-a", {"anomaly:m1": 0.99}) == PAYLOAD_FORMAT_INVALID
    letter = newest_letter(node, "lim-a")
    assert letter["reason"].startswith("reserved_metric_name"), letter
    assert "'anomaly:'" in letter["reason"], letter
    status, body = call(node, "POST", "/api/v2/write?org=o&bucket=b", token=node.admin_token,
                        body=b"anomaly:w,device=lim-b v=1\n")
    assert status == 400, body
    assert "reserved" in json.loads(body)["message"], body
    assert not {m for m in (s["metric"] for s in query(node, "series", "lim-b")) if m.startswith("anomaly:w")}


def test_a_timestamp_two_days_ahead_is_reported_as_two_days(node):
    two_days = 2 * 86_400_000
    assert publish(node, "lim-a", {"m1": 1}, ts=int(time.time() * 1000) + two_days) == PAYLOAD_FORMAT_INVALID
    reason = newest_letter(node, "lim-a")["reason"]
    assert reason.startswith("timestamp_skew"), reason
    assert "is 2 days ahead of the receive time; at most 1 day is allowed" in reason, reason


def test_a_null_character_in_a_topic_is_reported_as_such(node):
    raw = RawClient(node.host, node.port)
    try:
        body = (mstr("MQTT") + bytes([V5, 0xC2]) + struct.pack("!H", 60) + encode_props(None)
                + mstr(unique("nul").replace("/", "-")) + mstr("lim-b") + mstr(node.tokens["lim-b"]))
        raw.send(packet(CONNECT, 0, body))
        assert raw.read_packet().reason() == 0
        raw.send(publish_packet("devices/lim-b/tele\x00metry", b"{}", qos=1))
        got = raw.expect_closed()
        disconnect = next(p for p in got if p.type == DISCONNECT)
        assert disconnect.reason() == 0x81, disconnect
        props, _ = decode_props(disconnect.body, 1)
        reason = props.get(0x1F, "")
        reason = reason.decode() if isinstance(reason, bytes) else reason
        assert "contains U+0000 at byte 18" in reason and "UTF-8" not in reason, reason
    finally:
        raw.close()


def test_new_series_per_minute_limit_and_the_detector_cap(tmp_path_factory, tls_files):
    b = start_node(tmp_path_factory, tls_files, "rate", ("rate-a",),
                   {"REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE": "3", "REFLEX_DETECTION_MAX_SERIES": "2"})
    try:
        assert publish(b, "rate-a", {f"r{i}": i for i in range(5)}) == 0
        assert device_metrics(b, "rate-a") == {"r0", "r1", "r2"}
        assert publish(b, "rate-a", {"r4": 4}) == QUOTA_EXCEEDED
        reason = newest_letter(b, "rate-a")["reason"]
        assert "3 per minute" in reason and "REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE" in reason, reason
        # Three series are stored, but only two get a detector (and an anomaly: score series).
        detection = wait_for("an untracked sample", lambda: (lambda s: s if s["samplesUntracked"] else None)(
            json.loads(call(b, "GET", "/api/v1/detection/stats", token=b.admin_token)[1])))
        assert detection["series"] == 2 and detection["maxSeries"] == 2, detection
        scores = {s["metric"] for s in query(b, "series", "rate-a") if s["metric"].startswith("anomaly:")}
        assert len(scores) <= 2, scores
    finally:
        b.stop()


def test_new_series_per_minute_per_node_limit_is_shared_by_all_devices(tmp_path_factory, tls_files):
    """Many devices, each under its own rate, cannot together create series faster than the node's."""
    b = start_node(tmp_path_factory, tls_files, "node-rate", ("nr-a", "nr-b", "nr-c"),
                   {"REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE": "4",
                    "REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE_PER_NODE": "6"})
    try:
        assert publish(b, "nr-a", {f"a{i}": i for i in range(4)}) == 0
        assert publish(b, "nr-b", {f"b{i}": i for i in range(4)}) == 0  # 2 of 4 fit the node's bucket
        assert device_metrics(b, "nr-b") == {"b0", "b1"}
        reason = newest_letter(b, "nr-b")["reason"]
        assert "together created new series faster than 6 per minute" in reason, reason
        assert "REFLEX_INGEST_MAX_NEW_SERIES_PER_MINUTE_PER_NODE" in reason, reason
        # A third device, with its own budget untouched, is refused by the node's.
        assert publish(b, "nr-c", {"c0": 0}) == QUOTA_EXCEEDED
        # Known series still pass.
        assert publish(b, "nr-a", {"a0": 1, "a3": 2}) == 0
        counters = stats(b)["series"]
        assert counters["refusedByLimit"]["newSeriesPerMinutePerNode"] == 2, counters  # messages
        assert counters["maxNewSeriesPerMinutePerNode"] == 6, counters
        raised = wait_for("the node rate alarm", lambda: [a for a in alarms(b, "nr-c")
                                                        if a["type"] == "series_limit.newSeriesPerMinutePerNode"])
        assert "6 per minute" in raised[0]["message"], raised
    finally:
        b.stop()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_directory_and_databases_are_private(node):
    assert mode(node.data_dir) == 0o700, oct(mode(node.data_dir))
    files = [p for p in node.data_dir.iterdir() if p.is_file()]
    assert any(p.name == "samples.sqlite" for p in files) and any(p.name.endswith("-wal") for p in files)
    for p in files:
        assert mode(p) & 0o077 == 0, f"{p.name} is {oct(mode(p))}"
    # The fixture made the directory 0755 before the first start: the node said it tightened it.
    first = (node.workdir / "broker-1.stderr").read_text(errors="replace")
    assert "Restricted the data directory to its owner" in first, first[-3000:]


def test_cli_creates_a_private_data_directory(tmp_path):
    data_dir = tmp_path / "fresh"
    res = subprocess.run([reflex_bin(), "device", "add", "perm-1", "--type", "test", "--data-dir", str(data_dir)],
                         capture_output=True, text=True, timeout=30, env=dict(os.environ) | {"REFLEX_DATA_DIR": ""})
    assert res.returncode == 0, res.stderr
    assert mode(data_dir) == 0o700, oct(mode(data_dir))
    files = [p for p in data_dir.iterdir() if p.is_file()]
    assert any(p.name == "registry.sqlite" for p in files), files
    for p in files:
        assert mode(p) & 0o077 == 0, f"{p.name} is {oct(mode(p))}"
