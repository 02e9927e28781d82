"""Telemetry ingest: devices publish on devices/{id}/telemetry, Reflex stores the samples and
acknowledges QoS 1 only once they are committed; bad payloads become dead letters (PUBACK 0x99).

Read-back goes through `reflex query ... --json` on the same data directory (the HTTP API comes
later). The crash test kills the server with SIGKILL while a device publishes and checks that
every sample whose PUBACK arrived is stored, and that redelivered samples are stored and counted
once.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from collections import Counter

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


CRASH_SERIES = ("crash-1", "seq")
MAX_INFLIGHT = 50  # the crash publisher's window of unacknowledged QoS 1 PUBLISHes


def stored_samples(b: BrokerProcess, base: int, sent: int) -> list[dict]:
    """Every stored raw row of the crash series in [base, base + sent], as `reflex query raw` reads them."""
    return query(b, "raw", *CRASH_SERIES, "--from", str(base), "--to", str(base + sent + 1),
                 "--limit", str(sent + 10))


def crash_client(b: BrokerProcess, client_id: str) -> mqtt.Client:
    """A 3.1.1 paho client of device crash-1 that never reconnects by itself, so that every
    delivery attempt is one the test made (and counted)."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                    reconnect_on_failure=False)
    c.username_pw_set("crash-1", b.tokens["crash-1"])
    c.max_inflight_messages_set(MAX_INFLIGHT)
    return c


def sample_payload(base: int, ts: int) -> str:
    return json.dumps({"ts": ts, "values": {"seq": ts - base}})


def test_acknowledged_samples_survive_kill9(ingest_broker):
    """Publish QoS 1 continuously; SIGKILL the server 3 times at random moments.

    After each restart, before anything is sent again (a redelivery would repair a loss), per key:
    every acknowledged sample is stored with the value it was published with, nothing that was
    never published is stored, and the stored-but-unacknowledged samples (committed, PUBACK lost
    in the kill) are no more than the publisher's window of unacknowledged PUBLISHes.

    Then the device redelivers, as an at-least-once device does: every sample not acknowledged,
    plus the last 20 acknowledged ones (the broker cannot tell them from a resend after a lost
    PUBACK), so the store certainly receives samples it already holds. Delivery attempts are
    counted per key. At the end every published sample is stored once: one raw row per key (the
    (series, ts) primary key guarantees that much), and, which is what a duplicate delivery can
    break, the rollups count every sample once (sum of `count` equals the number of distinct
    samples although more deliveries than that were made)."""
    rng = random.Random(7)
    base = int(time.time() * 1000) - 3_600_000
    acked: set[int] = set()
    attempts: Counter[int] = Counter()  # deliveries per sample timestamp (first sends and redeliveries)
    redelivered_stored = 0  # redeliveries of a sample the store already held: duplicates it must absorb
    sent = 0
    for round_ in range(3):
        lock = threading.Lock()
        in_flight: dict[int, int] = {}
        stop = threading.Event()
        client = crash_client(ingest_broker, f"crash-{round_}")
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
                attempts[ts] += 1
                # Never hold `lock` while calling into paho: its network thread holds paho's own
                # lock while it calls on_publish.
                info = client.publish("devices/crash-1/telemetry", sample_payload(base, ts), qos=1)
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
        stop.set()
        ingest_broker.kill9_restart()
        t.join(5)
        assert not t.is_alive()
        client.loop_stop()
        client.disconnect()

        # Acknowledged against stored, per key, before any redelivery.
        rows = stored_samples(ingest_broker, base, sent)
        stored = {s["timestamp"] for s in rows}
        invented = sorted(stored - set(attempts))
        assert not invented, f"{len(invented)} stored samples were never published, e.g. {invented[:5]}"
        missing = sorted(acked - stored)
        assert not missing, f"round {round_}: {len(missing)} acknowledged samples lost, e.g. {missing[:5]}"
        wrong = [s for s in rows if s["value"] != s["timestamp"] - base]
        assert not wrong, f"{len(wrong)} stored samples hold another value than was sent, e.g. {wrong[:3]}"
        unacknowledged = sorted(set(attempts) - acked)
        stored_unacked = stored - acked
        print(f"round {round_}: published {sent}, acknowledged {len(acked)}, stored {len(stored)} "
              f"({len(stored_unacked)} of them unacknowledged: committed, the PUBACK lost in the kill)")
        assert len(stored_unacked) <= MAX_INFLIGHT, (
            f"{len(stored_unacked)} stored samples without a PUBACK, more than the {MAX_INFLIGHT} the "
            "publisher can have had unacknowledged at the kill: the test's acknowledgement bookkeeping is wrong")

        # Redelivery, counted.
        again = unacknowledged + sorted(acked)[-20:]
        redelivered_stored += len(stored & set(again))
        client = crash_client(ingest_broker, f"crash-{round_}-again")
        client.connect(ingest_broker.host, ingest_broker.port, keepalive=30)
        client.loop_start()
        try:
            infos = []
            for ts in again:
                attempts[ts] += 1
                infos.append((ts, client.publish("devices/crash-1/telemetry", sample_payload(base, ts), qos=1)))
            deadline = time.monotonic() + 15
            for ts, info in infos:
                info.wait_for_publish(max(0.01, deadline - time.monotonic()))
                assert info.is_published(), f"no PUBACK within 15 s for the redelivered sample {ts}"
                acked.add(ts)
        finally:
            client.loop_stop()
            client.disconnect()

    published = set(range(base, base + sent))
    assert set(attempts) == published and acked == published
    deliveries = sum(attempts.values())
    print(f"kill -9 x3: {len(published)} samples, {deliveries} deliveries, "
          f"{redelivered_stored} of them of a sample already stored")
    assert len(acked) > 100, "the publisher should have got acknowledgements before each kill"
    assert redelivered_stored >= 3 * 20, "the store must have been sent samples it already held"

    rows = stored_samples(ingest_broker, base, sent)
    per_key = Counter(s["timestamp"] for s in rows)
    assert set(per_key) == published, f"not stored: {sorted(published - set(per_key))[:5]}"
    twice = {ts: n for ts, n in per_key.items() if n > 1}
    assert not twice, f"{len(twice)} samples stored more than once, e.g. {list(twice.items())[:5]}"
    assert not [s for s in rows if s["value"] != s["timestamp"] - base]
    # Both ends on hour boundaries, so the store answers from its hourly rollup (at any other
    # bounds it reads the raw rows, where a double count cannot show).
    hour = 3_600_000
    buckets = query(ingest_broker, "aggregate", *CRASH_SERIES, "--from", str(base - base % hour),
                    "--to", str((base + sent) // hour * hour + hour), "--step", "1h")
    counted = sum(int(b["count"]) for b in buckets)
    assert counted == len(published), (
        f"the rollups count {counted} samples for {len(published)} distinct ones stored "
        f"({deliveries} deliveries): a redelivered sample was counted twice")
    assert (min(b["min"] for b in buckets), max(b["max"] for b in buckets)) == (0, sent - 1)


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
