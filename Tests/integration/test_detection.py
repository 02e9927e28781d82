"""Live detection in a running `reflex serve`: telemetry with a spike published over MQTT is scored
as it is committed; the scores come back as the `anomaly:<metric>` series and through
GET /api/v1/devices/{id}/anomalies[/{metric}], data-quality problems through /api/v1/data-quality,
and the detector state survives a restart (checkpointed at shutdown, restored at start).
"""

from __future__ import annotations

import json
import math
import time

import pytest

from conftest import BROKER_KIND, BrokerProcess
from helpers import mosquitto_pub
from test_auth import add_device, first_admin_token
from test_http import call

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex detection")

DEVICE = "pump-9"
REFERENCE = "pump-ref"  # fed the same samples without a restart in between
COUNT = 300
SPIKE = 240
START = int(time.time() * 1000) - (COUNT + 200) * 1000 - 60_000  # room for the 100 samples after the restart


def value(i: int) -> float:
    base = 10 + math.sin(i / 5) + ((i * 7919) % 13) / 26
    return base + 40 if i == SPIKE else base


@pytest.fixture(scope="module")
def detection_broker(tmp_path_factory, tls_files):
    b = BrokerProcess("reflex", tmp_path_factory.mktemp("detection"), tls_files,
                      env={"REFLEX_DETECTION_CHECKPOINT_INTERVAL": "1s"})
    b.allow_anonymous = False
    b.device_token = add_device(b.data_dir, DEVICE)
    b.reference_token = add_device(b.data_dir, REFERENCE)
    b.start()
    b.admin_token = first_admin_token(b)
    yield b
    b.stop()


def get(broker, path: str) -> dict:
    status, body = call(broker, "GET", path, token=broker.admin_token)
    assert status == 200, f"GET {path}: {status} {body[:300]!r}"
    return json.loads(body)


def wait_for(broker, path: str, predicate, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = get(broker, path)
        if predicate(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_spike_scores_high_and_normal_samples_low(detection_broker):
    b = detection_broker
    # One message of 300 samples (a device catching up), QoS 1: acknowledged once committed.
    payload = json.dumps([{"ts": START + i * 1000, "values": {"vibration": value(i)}} for i in range(COUNT)])
    res = mosquitto_pub(b, f"devices/{DEVICE}/telemetry", payload, qos=1, version=4,
                        extra=["-u", DEVICE, "-P", b.device_token])
    assert res.returncode == 0, res.stderr

    raw_path = f"/api/v1/devices/{DEVICE}/series/anomaly:vibration/raw?from={START}&limit=10000"
    raw = wait_for(b, raw_path, lambda body: len(body["samples"]) >= COUNT)
    scores = [s["value"] for s in raw["samples"]]
    assert len(scores) == COUNT
    assert all(0 <= s <= 1 for s in scores)
    assert [s["ts"] for s in raw["samples"]] == [START + i * 1000 for i in range(COUNT)]
    spike = scores[SPIKE]
    normal = scores[100:SPIKE] + scores[SPIKE + 20:]
    assert spike > 0.5, f"spike scored {spike}"
    assert sorted(normal)[int(len(normal) * 0.95)] < 0.5, "normal samples should mostly score low"
    assert spike > max(normal)

    band_path = f"/api/v1/devices/{DEVICE}/anomalies/vibration?from={START}&to={START + COUNT * 1000}"
    band = wait_for(b, band_path, lambda body: len(body["points"]) >= COUNT)
    points = band["points"]
    assert len(points) == COUNT and band["stepMs"] is None
    assert points[SPIKE]["score"] == spike
    assert points[SPIKE]["value"] == pytest.approx(value(SPIKE))
    assert points[SPIKE]["upper"] < points[SPIKE]["value"], "the spike is above the expected band"
    assert all(p["lower"] is not None and p["expected"] is not None for p in points[50:])

    latest = get(b, f"/api/v1/devices/{DEVICE}/anomalies")
    assert [m["metric"] for m in latest["metrics"]] == ["vibration"]
    assert latest["metrics"][0]["ts"] == START + (COUNT - 1) * 1000
    assert set(latest["metrics"][0]) >= {"value", "score", "expected", "lower", "upper", "component", "deviation"}

    stats = get(b, "/api/v1/detection/stats")
    assert stats["enabled"] is True and stats["samplesScored"] >= COUNT and stats["series"] >= 1


def test_out_of_order_timestamp_is_a_data_quality_event(detection_broker):
    b = detection_broker
    payload = json.dumps({"ts": START + 5_000, "values": {"vibration": 10.5}})
    res = mosquitto_pub(b, f"devices/{DEVICE}/telemetry", payload, qos=1, version=4,
                        extra=["-u", DEVICE, "-P", b.device_token])
    assert res.returncode == 0, res.stderr
    body = wait_for(b, f"/api/v1/data-quality?device={DEVICE}",
                    lambda body: any(e["kind"] == "timestampRegression" for e in body["active"]))
    event = next(e for e in body["active"] if e["kind"] == "timestampRegression")
    assert event["device"] == DEVICE and event["metric"] == "vibration" and event["active"] is True
    assert "before the previous sample" in event["detail"]


def publish(b, device: str, token: str, samples: list[tuple[int, float]]) -> None:
    payload = json.dumps([{"ts": ts, "values": {"vibration": v}} for ts, v in samples])
    res = mosquitto_pub(b, f"devices/{device}/telemetry", payload, qos=1, version=4,
                        extra=["-u", device, "-P", token])
    assert res.returncode == 0, res.stderr


def scores(b, device: str, count: int) -> list[tuple[int, float]]:
    path = f"/api/v1/devices/{device}/series/anomaly:vibration/raw?from={START}&limit=10000"
    body = wait_for(b, path, lambda body: len(body["samples"]) >= count)
    assert len(body["samples"]) == count, f"{device}: {len(body['samples'])} scores, expected {count}"
    return [(s["ts"], s["value"]) for s in body["samples"]]


def test_detector_state_survives_a_restart(detection_broker):
    """The restored detector scores what comes after the restart exactly as a detector that never
    stopped: pump-9 is fed 300 samples (and the out-of-order one) before the restart and 100 after;
    pump-ref gets the same messages after the restart, in one uninterrupted run."""
    b = detection_broker
    wait_for(b, "/api/v1/detection/stats", lambda body: body["lastCheckpointAt"] is not None)
    b.restart()
    stats = wait_for(b, "/api/v1/detection/stats", lambda body: body["restoredSeries"] >= 1)
    assert stats["restoredSeries"] >= 1 and stats["statesReset"] == 0
    latest = get(b, f"/api/v1/devices/{DEVICE}/anomalies")
    assert latest["metrics"][0]["ts"] == START + (COUNT - 1) * 1000
    assert "Restored detector checkpoints" in b.stderr_text()

    more = 100
    before = [(START + i * 1000, value(i)) for i in range(COUNT)]
    after = [(START + i * 1000, value(i) + (80 if i == COUNT + 50 else 0)) for i in range(COUNT, COUNT + more)]
    publish(b, DEVICE, b.device_token, after)
    publish(b, REFERENCE, b.reference_token, before)
    publish(b, REFERENCE, b.reference_token, [(START + 5_000, 10.5)])  # as test_out_of_order sent
    publish(b, REFERENCE, b.reference_token, after)

    restored = scores(b, DEVICE, COUNT + more)[COUNT:]
    uninterrupted = scores(b, REFERENCE, COUNT + more)[COUNT:]
    assert [ts for ts, _ in restored] == [ts for ts, _ in after]
    assert [ts for ts, _ in uninterrupted] == [ts for ts, _ in after]
    diffs = [abs(x - y) for (_, x), (_, y) in zip(restored, uninterrupted)]
    assert max(diffs) < 1e-9, f"scores after the restart differ from an uninterrupted run by up to {max(diffs)}"
    assert restored[50][1] > 0.5, "a spike twice the earlier one, after the restart, is scored high"
