"""Telemetry ingest: devices publish on devices/{id}/telemetry, Reflex stores the samples and
acknowledges QoS 1 only once they are committed; bad payloads become dead letters (PUBACK 0x99).

Read-back goes through `reflex query ... --json` on the same data directory (the HTTP API comes
later). The crash test kills the server with SIGKILL while a device publishes and checks that
every sample whose PUBACK arrived is stored, exactly once.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from conftest import BROKER_KIND, BrokerProcess
from test_auth import TOKEN, add_device, cli

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex ingest and storage")

DEVICES = ("pump-1", "pump-2", "crash-1")


@pytest.fixture(scope="module")
def ingest_broker(tmp_path_factory, tls_files):
    b = BrokerProcess("reflex", tmp_path_factory.mktemp("ingest"), tls_files)
    b.allow_anonymous = False
    b.tokens = {d: add_device(b.data_dir, d) for d in DEVICES}
    b.start()
    yield b
    b.stop()


def query(b: BrokerProcess, *args: str):
    return json.loads(cli(b.data_dir, "query", *args, "--json"))


def device_pub(b: BrokerProcess, device: str, payload: str, *, version: str = "mqttv5", qos: int = 1) -> str:
    """mosquitto_pub as the device, with -d so the PUBACK (and its reason code) is visible."""
    res = subprocess.run(
        ["mosquitto_pub", "-h", b.host, "-p", str(b.port), "-V", version, "-u", device, "-P", b.tokens[device],
         "-q", str(qos), "-t", f"devices/{device}/telemetry", "-s", "-d"],
        input=payload, capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, res.stderr
    return res.stdout + res.stderr


def test_qos1_json_telemetry_is_stored_and_read_back(ingest_broker):
    base = int(time.time() * 1000) - 60_000
    for i in range(3):
        out = device_pub(ingest_broker, "pump-1",
                         json.dumps({"ts": base + i * 1000, "values": {"temperature": 70.5 + i, "running": True}}))
        assert "PUBACK" in out and "RC:0" in out, out
    samples = query(ingest_broker, "raw", "pump-1", "temperature", "--from", str(base))
    assert [(s["timestamp"], s["value"]) for s in samples] == [(base + i * 1000, 70.5 + i) for i in range(3)]
    latest = {s["metric"]: s["value"] for s in query(ingest_broker, "latest", "pump-1")}
    assert latest["running"] == 1.0 and latest["temperature"] == 72.5


def test_an_array_of_readings_and_rfc3339_timestamps(ingest_broker):
    payload = [{"ts": "2026-01-01T00:00:00Z", "values": {"level": 1}},
               {"ts": "2026-01-01T00:00:01.500+00:00", "values": {"level": 2}}]
    assert "RC:0" in device_pub(ingest_broker, "pump-2", json.dumps(payload), version="mqttv311").replace(
        "received PUBACK", "RC:0")
    samples = query(ingest_broker, "raw", "pump-2", "level", "--from", "2026-01-01T00:00:00Z",
                    "--to", "2026-01-01T00:00:02Z")
    assert [s["value"] for s in samples] == [1.0, 2.0]
    assert samples[1]["timestamp"] - samples[0]["timestamp"] == 1500


def test_line_protocol_over_mqtt(ingest_broker):
    ns = (int(time.time()) - 30) * 1_000_000_000
    device_pub(ingest_broker, "pump-2", f"pump,device=pump-2 pressure=3.5,flow=12i {ns}")
    metrics = {s["metric"] for s in query(ingest_broker, "series", "pump-2")}
    assert {"pump.pressure", "pump.flow"} <= metrics


@pytest.mark.parametrize("payload, reason", [
    ('{"values": {"temperature": "hot"}}', "wrong_value_type"),
    ('{"values": {"temperature": NaN}}', "not_finite"),
    ('{"values": {"temperature": 1', "malformed_json"),
    ('{"ts": 4102444800000, "values": {"temperature": 1}}', "timestamp_skew"),
    ('{"values": {"temp\\"; DROP TABLE samples; --": 1}}', "bad_metric_name"),
    ("pump,device=pump-2 pressure=1", "bad_device_id_or_topic"),
])
def test_bad_payloads_get_0x99_and_become_dead_letters(ingest_broker, payload, reason):
    out = device_pub(ingest_broker, "pump-1", payload)
    assert "RC:153" in out, out  # 0x99 payload format invalid
    letters = query(ingest_broker, "dead-letters", "--limit", "1")
    assert letters and letters[0]["device"] == "pump-1"
    if reason != "bad_device_id_or_topic":
        assert letters[0]["reason"].startswith(reason), letters[0]
    else:
        assert "pump-2" in letters[0]["reason"], letters[0]
    # The device keeps working on the same broker.
    assert "RC:0" in device_pub(ingest_broker, "pump-1", '{"values": {"ok": 1}}')


def test_ten_thousand_values_in_one_message_are_refused_whole(ingest_broker):
    values = {f"m{i}": i for i in range(10_001)}
    out = device_pub(ingest_broker, "pump-1", json.dumps({"values": values}))
    assert "RC:153" in out
    assert query(ingest_broker, "dead-letters", "--limit", "1")[0]["reason"].startswith("too_many_values")


def test_acknowledged_samples_survive_kill9(ingest_broker):
    """Publish QoS 1 continuously; SIGKILL the server 3 times at random moments; every acknowledged
    sample must be stored, with the value it was published with, and nothing that was never
    published may appear. (A sample cannot be stored twice: (device, metric, timestamp) is the
    primary key, so a redelivery overwrites the same row; what is checked per key is that the
    row holds exactly the value that was sent.)"""
    rng = random.Random(7)
    base = int(time.time() * 1000) - 3_600_000
    acked: set[int] = set()
    sent = 0
    for round_ in range(3):
        lock = threading.Lock()
        in_flight: dict[int, int] = {}
        stop = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"crash-{round_}", protocol=mqtt.MQTTv311)
        client.username_pw_set("crash-1", ingest_broker.tokens["crash-1"])
        client.max_inflight_messages_set(50)

        early: set[int] = set()  # PUBACKs that arrived before publish() returned its mid

        def on_publish(c, userdata, mid, reason_code, properties):
            with lock:
                ts = in_flight.pop(mid, None)
                if ts is None:
                    early.add(mid)
                else:
                    acked.add(ts)

        client.on_publish = on_publish
        client.connect(ingest_broker.host, ingest_broker.port, keepalive=30)
        client.loop_start()

        def publish_loop():
            nonlocal sent
            while not stop.is_set() and sent < (round_ + 1) * 50_000:
                ts = base + sent
                sent += 1
                # Never hold `lock` while calling into paho: its network thread holds paho's own
                # lock while it calls on_publish.
                info = client.publish("devices/crash-1/telemetry", json.dumps({"ts": ts, "values": {"seq": ts - base}}), qos=1)
                with lock:
                    if info.mid in early:
                        early.discard(info.mid)
                        acked.add(ts)
                    else:
                        in_flight[info.mid] = ts
                    backlog = len(in_flight)
                if backlog > 200:
                    time.sleep(0.002)

        t = threading.Thread(target=publish_loop, daemon=True)
        t.start()
        time.sleep(rng.uniform(0.5, 1.5))
        ingest_broker.kill9_restart()
        stop.set()
        t.join(5)
        client.loop_stop()
        client.disconnect()
    stored = query(ingest_broker, "raw", "crash-1", "seq", "--from", str(base), "--to", str(base + sent + 1),
                   "--limit", str(sent + 10))
    timestamps = [s["timestamp"] for s in stored]
    print(f"kill -9 x3: published {sent}, acknowledged {len(acked)}, stored {len(timestamps)}")
    assert len(acked) > 100, "the publisher should have got acknowledgements before each kill"
    published = range(base, base + sent)
    invented = [ts for ts in timestamps if ts not in published]
    assert not invented, f"{len(invented)} stored samples were never published, e.g. {invented[:5]}"
    missing = acked - set(timestamps)
    assert not missing, f"{len(missing)} acknowledged samples lost, e.g. {sorted(missing)[:5]}"
    wrong = [s for s in stored if s["value"] != s["timestamp"] - base]
    assert not wrong, f"{len(wrong)} stored samples hold another value than was sent, e.g. {wrong[:3]}"
    # Acknowledged versus stored per key: every key is acknowledged-and-stored or only stored
    # (committed, the PUBACK lost in the kill); the counts say how many of each.
    print(f"stored and acknowledged {len(acked & set(timestamps))}, stored unacknowledged "
          f"{len(set(timestamps) - acked)}")


def test_status_and_state_are_recorded(ingest_broker):
    device = "pump-2"
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="state-test", protocol=mqtt.MQTTv5)
    c.username_pw_set(device, ingest_broker.tokens[device])
    c.connect(ingest_broker.host, ingest_broker.port, keepalive=30)
    c.loop_start()
    try:
        deadline = time.monotonic() + 5
        state = None
        while time.monotonic() < deadline:
            state = query(ingest_broker, "state", device)
            if state and state.get("status") == "online":
                break
            time.sleep(0.05)
        assert state and state["status"] == "online" and state["statusReason"] == "connected", state
        info = c.publish(f"devices/{device}/state", json.dumps({"firmware": "2.1.0", "mode": "auto"}), qos=1,
                         retain=True)
        info.wait_for_publish(5)
        state = query(ingest_broker, "state", device)
        assert json.loads(state["attributes"]) == {"firmware": "2.1.0", "mode": "auto"}
        bad = c.publish(f"devices/{device}/state", "not json", qos=1)
        bad.wait_for_publish(5)
        assert query(ingest_broker, "dead-letters", "--limit", "1")[0]["topic"] == f"devices/{device}/state"
    finally:
        c.loop_stop()
        c.disconnect()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        state = query(ingest_broker, "state", device)
        if state["status"] == "offline":
            break
        time.sleep(0.05)
    assert state["status"] == "offline" and state["statusReason"] == "disconnected", state


def test_a_one_megabyte_payload_is_refused_and_the_device_keeps_working(ingest_broker):
    # Under the 1 MiB packet limit: reaches the decoder, which refuses it with a reason.
    big = json.dumps({"values": {"blob": "x" * 1_000_000}})
    out = device_pub(ingest_broker, "pump-1", big)
    assert "RC:153" in out, out[-500:]
    letter = query(ingest_broker, "dead-letters", "--limit", "1")[0]
    assert letter["reason"].startswith("wrong_value_type") and int(letter["payloadSize"]) == len(big)
    # Over the 1 MiB packet limit: the broker refuses the packet (0x95) and closes only that
    # connection, so no PUBACK comes back (3.1.1: the client cannot know the limit in advance).
    try:
        res = subprocess.run(
            ["mosquitto_pub", "-h", ingest_broker.host, "-p", str(ingest_broker.port), "-V", "mqttv311", "-u",
             "pump-1", "-P", ingest_broker.tokens["pump-1"], "-q", "1", "-t", "devices/pump-1/telemetry", "-s", "-d"],
            input="y" * 1_100_000, capture_output=True, text=True, timeout=5)
        output = res.stdout + res.stderr
    except subprocess.TimeoutExpired as expired:
        output = "".join(x.decode() if isinstance(x, bytes) else (x or "") for x in (expired.stdout, expired.stderr))
    assert "received PUBACK" not in output, output
    assert "RC:0" in device_pub(ingest_broker, "pump-1", '{"values": {"after": 1}}')
