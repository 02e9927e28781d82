"""Detection never skips committed samples (issue 19): when the in-memory feed overflows under a
burst, or after kill -9, live detection catches up from the store's commit log, and the scores are
exactly those of a slow, steady feed of the same data.

The burst node runs with REFLEX_DETECTION_BUFFER_SIZE=4, so a burst that ingest commits in groups of
dozens of batches overflows the feed at once (in CI time, with the debug build). Before the commit
log, the batches that did not fit were dropped, counted but never scored.
"""

from __future__ import annotations

import json
import math
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from conftest import BROKER_KIND, BrokerProcess
from test_auth import first_admin_token
from test_http import call

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex detection")

METRICS = [f"m{k}" for k in range(5)]
MESSAGES = 500  # per device, one sample of each metric per message
BURST_DEVICES = [f"burst-{d}" for d in range(40)]
START = int(time.time() * 1000) - 7 * 86_400_000 // 2  # inside raw retention, in the past


def value(metric: int, i: int) -> float:
    base = 10 + metric + math.sin(i / 5 + metric) + ((i * 7919 + metric) % 13) / 26
    return base + 30 if i in (150, 180 + metric) else base


def message(i: int) -> bytes:
    return json.dumps({"ts": START + i * 1000, "values": {m: value(k, i) for k, m in enumerate(METRICS)}}).encode()


def get(b, path: str) -> dict:
    status, body = call(b, "GET", path, token=b.admin_token)
    assert status == 200, f"GET {path}: {status} {body[:300]!r}"
    return json.loads(body)


def wait_for(b, path: str, predicate, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = get(b, path)
        if predicate(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def connect(b, client_id: str) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    c.max_inflight_messages_set(200)
    c.max_queued_messages_set(0)
    c.connect(b.host, b.port)
    c.loop_start()
    return c


def publish_all(b, device: str, indices: range, *, steady: bool) -> None:
    """QoS 1 messages for `indices`; `steady` waits for each to be scored before the next."""
    c = connect(b, f"pub-{device}")
    try:
        infos = []
        for i in indices:
            info = c.publish(f"devices/{device}/telemetry", message(i), qos=1)
            if steady:
                info.wait_for_publish(10)
                assert info.is_published(), f"{device} message {i} not acknowledged"
                lag = wait_for(b, "/api/v1/detection/stats", lambda s: s["lag"]["batchesBehind"] == 0, 10)["lag"]
                assert lag["batchesBehind"] == 0, f"steady feed: detection fell behind: {lag}"
            else:
                infos.append(info)
        for info in infos:
            info.wait_for_publish(30)
            assert info.is_published(), f"{device}: a burst message was not acknowledged"
    finally:
        c.loop_stop()
        c.disconnect()


def scores(b, device: str, metric: str, count: int) -> list[tuple[int, float]]:
    path = f"/api/v1/devices/{device}/series/anomaly:{metric}/raw?from={START}&limit=10000"
    body = get(b, path)
    got = [(s["ts"], s["value"]) for s in body["samples"]]
    assert len(got) == count, f"{device} anomaly:{metric}: {len(got)} scores, expected {count}"
    return got


def start_node(tmp_path_factory, tls_files, name: str, env: dict[str, str]) -> BrokerProcess:
    b = BrokerProcess("reflex", tmp_path_factory.mktemp(name), tls_files, env=env)
    b.start()
    b.admin_token = first_admin_token(b)
    return b


@pytest.fixture
def burst_node(tmp_path_factory, tls_files):
    b = start_node(tmp_path_factory, tls_files, "catchup-burst", {"REFLEX_DETECTION_BUFFER_SIZE": "4"})
    yield b
    b.stop()


def test_a_burst_past_the_feed_is_fully_scored_like_a_steady_feed(burst_node):
    b = burst_node
    # The reference: one device fed slowly, each message scored before the next (live path only).
    publish_all(b, "steady", range(MESSAGES), steady=True)
    before = get(b, "/api/v1/detection/stats")
    assert before["lag"]["feedOverflows"] == 0 and before["lag"]["catchUps"] == 0, before["lag"]

    # The burst: 40 devices at once, the same data each, far more than the feed holds.
    threads = [threading.Thread(target=publish_all, args=(b, d, range(MESSAGES)), kwargs={"steady": False})
               for d in BURST_DEVICES]
    for t in threads:
        t.start()
    for t in threads:
        t.join(45)
    total = (1 + len(BURST_DEVICES)) * MESSAGES * len(METRICS)
    stats = wait_for(b, "/api/v1/detection/stats",
                     lambda s: s["samplesScored"] >= total and s["lag"]["batchesBehind"] == 0, 40)
    lag = stats["lag"]
    assert stats["samplesScored"] == total, (
        f"{stats['samplesScored']} samples scored of {total} committed (feed overflows {lag['feedOverflows']})")
    reference = {m: scores(b, "steady", m, MESSAGES) for m in METRICS}
    for device in BURST_DEVICES:
        for m in METRICS:
            got = scores(b, device, m, MESSAGES)
            assert got == reference[m], f"{device} anomaly:{m} differs from the steady feed's scores"
    assert max(v for _, v in reference["m0"]) > 0.5, "the spikes are scored high"

    assert lag["feedOverflows"] > 0, f"the burst never overflowed the feed of 4 batches: {lag}"
    assert lag["catchUps"] >= 1 and lag["samplesReplayed"] > 0, lag
    assert lag["batchesBehind"] == 0 and lag["catchingUp"] is False and lag["degraded"] is None, lag
    assert lag["lastCatchUpSeconds"] is not None

    health = json.loads(call(b, "GET", "/health")[1])
    assert health["status"] == "ok" and "degraded" not in health, health


def test_after_kill9_detection_rescores_from_the_checkpoint_like_an_uninterrupted_run(
        tmp_path_factory, tls_files):
    """No checkpoint is due (1 day): after kill -9 the restored cursor is 0 and the commit log holds
    everything since; the replay rebuilds the detector so that what comes after scores exactly as a
    device fed the same data without a crash."""
    b = start_node(tmp_path_factory, tls_files, "catchup-crash", {"REFLEX_DETECTION_CHECKPOINT_INTERVAL": "1d"})
    try:
        half = MESSAGES // 2
        publish_all(b, "crashed", range(half), steady=False)
        first = wait_for(b, "/api/v1/detection/stats", lambda s: s["samplesScored"] >= half * len(METRICS), 20)
        assert first["samplesScored"] == half * len(METRICS)
        b.kill9_restart()
        publish_all(b, "crashed", range(half, MESSAGES), steady=False)
        publish_all(b, "uninterrupted", range(MESSAGES), steady=False)
        total = (MESSAGES + MESSAGES) * len(METRICS)  # since the restart: replay and rest, the reference
        done = wait_for(b, "/api/v1/detection/stats",
                        lambda s: s["samplesScored"] >= total and s["lag"]["batchesBehind"] == 0, 20)
        assert done["samplesScored"] == total, done
        for m in METRICS:
            crashed = scores(b, "crashed", m, MESSAGES)
            reference = scores(b, "uninterrupted", m, MESSAGES)
            assert crashed == reference, f"anomaly:{m} after kill -9 differs from an uninterrupted run"
        # Each committed sample was scored once since the restart: the replay, then the live rest.
        assert done["lag"]["samplesReplayed"] == half * len(METRICS), done["lag"]
        assert done["lag"]["catchUps"] == 1 and done["lag"]["feedOverflows"] == 0, done["lag"]
    finally:
        b.stop()
