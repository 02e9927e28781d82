"""GET /metrics of a running `reflex serve`: real MQTT traffic (paho, QoS 1, a bad payload, a refused
connection) moves the counters it should, and the whole exposition passes `promtool check metrics`
(Debian's `prometheus` package). The scrape config in docs/prometheus/ passes `promtool check config`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import BROKER_KIND, REPO_ROOT, BrokerProcess, require_prerequisite
from helpers import V5, V311
from test_auth import add_device, client, first_admin_token

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex's /metrics")

require_prerequisite(shutil.which("promtool") is not None,
                     "promtool is not installed (Debian package 'prometheus'; .ci/run installs it)")

SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


@pytest.fixture(scope="module")
def node(tmp_path_factory, tls_files):
    b = BrokerProcess("reflex", tmp_path_factory.mktemp("metrics"), tls_files)
    b.allow_anonymous = False
    b.device_token = add_device(b.data_dir, "meter-1")
    b.start()
    b.admin_token = first_admin_token(b)
    yield b
    b.stop()


def get(node, path: str, token: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{node.http_port}{path}")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(node) -> tuple[str, dict[tuple[str, str], float]]:
    status, text = get(node, "/metrics", token=node.admin_token)
    assert status == 200, text
    values: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SERIES.match(line)
        assert m, f"malformed series line: {line!r}"
        values[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return text, values


def value(values, name: str, labels: str = "") -> float:
    assert (name, labels) in values, f"{name}{labels} missing from /metrics; have " + \
        ", ".join(sorted(f"{n}{l}" for n, l in values if n.startswith(name.rsplit('_', 1)[0])))
    return values[(name, labels)]


def promtool_check(text: str) -> None:
    run = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    assert run.returncode == 0, f"promtool check metrics failed ({run.returncode}):\n" \
        f"{run.stdout.decode()}{run.stderr.decode()}"


def test_metrics_needs_a_viewer_token(node):
    status, body = get(node, "/metrics")
    assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized"


def test_telemetry_bad_payload_and_refused_connection_move_the_counters(node):
    _, before = scrape(node)
    dev = client(node, "meter-1", node.device_token, version=V5, client_id="meter-1")
    try:
        now = int(time.time() * 1000)
        for i in range(20):
            payload = json.dumps({"ts": now - 20_000 + i * 1000, "values": {"power": 10.0 + i, "volts": 230.0}})
            assert dev.publish("devices/meter-1/telemetry", payload, qos=1) == 0  # PUBACK success
        rc = dev.publish("devices/meter-1/telemetry", "{not json", qos=1)
        assert rc == 0x99, f"a bad payload is refused with 0x99 (payload format invalid), got {rc}"
    finally:
        dev.close()
    refused = client(node, "meter-1", "rfx_dev_wrong", version=V311)
    assert refused.connack_rc != 0, "a wrong device token is refused"
    refused.close()

    deadline = time.monotonic() + 10
    while True:
        text, after = scrape(node)
        delta = lambda name, labels="": value(after, name, labels) - value(before, name, labels)  # noqa: E731
        # The dead letter is committed on its own, after the refusal was answered.
        settled = (delta("reflex_store_commit_latency_seconds_count") >= 20 and value(after, "reflex_mqtt_connections") == 0
                   and delta("reflex_store_dead_letters_total") >= 1)
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.2)

    # The store also commits detection's score samples (one series per scored metric), so its
    # totals are at least what the devices sent; the ingest counters are exact.
    assert delta("reflex_store_samples_committed_total") >= 40
    assert delta("reflex_store_messages_committed_total") >= 20
    assert delta("reflex_ingest_messages_total") == 20
    assert delta("reflex_ingest_samples_total") == 40
    assert delta("reflex_ingest_refused_messages_total", '{reason="invalid"}') == 1
    assert delta("reflex_store_dead_letters_total") == 1
    assert delta("reflex_store_commit_latency_seconds_count") == 20
    assert value(after, "reflex_store_commit_latency_seconds_bucket", '{le="1.0"}') >= 20
    assert delta("reflex_mqtt_packets_received_total", '{type="publish"}') == 21
    assert delta("reflex_mqtt_packets_sent_total", '{type="puback"}') == 21
    assert delta("reflex_mqtt_connections_total") == 1
    refusals = {labels: v - before.get((name, labels), 0.0) for (name, labels), v in after.items()
                if name == "reflex_mqtt_connections_refused_total"}
    assert sum(refusals.values()) == 1, refusals
    assert refusals.get('{reason="bad_credentials"}') == 1 or refusals.get('{reason="not_authorized"}') == 1, refusals
    assert delta("reflex_store_commit_failures_total") == 0
    assert value(after, "reflex_mqtt_connections") == 0
    assert value(after, "process_resident_memory_bytes") > 1_000_000
    assert value(after, "process_start_time_seconds") > time.time() - 3600
    assert value(after, "reflex_http_requests_total", '{route="/metrics",status="2xx"}') >= 1
    assert value(after, "reflex_http_requests_total", '{route="/metrics",status="4xx"}') >= 1
    for outcome in ("fired", "suppressed_interlock", "suppressed_override", "suppressed_cooldown"):
        assert ("reflex_automation_decisions_total", f'{{outcome="{outcome}"}}') in after
    assert ("reflex_automation_active_alarms", "") in after
    assert ("reflex_detection_lag_seconds", "") in after
    promtool_check(text)


def test_no_label_carries_a_device_client_or_metric_name(node):
    text, values = scrape(node)
    for name, labels in values:
        for forbidden in ("meter-1", "power", "volts", "devices/"):
            assert forbidden not in labels, f"{name}{labels} carries an unbounded label value"


def test_promtool_rejects_a_malformed_exposition(node):
    """The check above can fail: a counter without its TYPE/HELP or with a broken line is refused."""
    text, _ = scrape(node)
    broken = text + "reflex_bogus_total{reason=\"x\" 1\n"
    run = subprocess.run(["promtool", "check", "metrics"], input=broken.encode(), capture_output=True, timeout=30)
    assert run.returncode != 0


def test_scrape_config_passes_promtool_check_config(tmp_path):
    config = REPO_ROOT / "docs" / "prometheus" / "prometheus.yml"
    assert config.exists(), config
    # The config names a bearer-token file beside it; promtool checks that the file exists.
    work = tmp_path / "prometheus"
    shutil.copytree(config.parent, work)
    (work / "reflex-token").write_text("rfx_op_example\n")
    run = subprocess.run(["promtool", "check", "config", str(work / "prometheus.yml")],
                         capture_output=True, timeout=30)
    assert run.returncode == 0, run.stdout.decode() + run.stderr.decode()


def test_grafana_dashboard_queries_only_metrics_the_node_exposes(node):
    """docs/grafana/reflex.json: every Prometheus panel names families that /metrics has (a renamed
    metric breaks this test, not a plant's dashboard)."""
    dashboard = json.loads((REPO_ROOT / "docs" / "grafana" / "reflex.json").read_text())
    _, values = scrape(node)
    exposed = {name for name, _ in values} | {name.rsplit("_bucket", 1)[0] for name, _ in values}
    names = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            if "expr" in target:
                names |= set(re.findall(r"\b((?:reflex|process)_[a-z0-9_]+)", target["expr"]))
            if "rawSql" in target:
                assert "FROM" in target["rawSql"] and "series" in target["rawSql"], target
    assert names, "the dashboard has no Prometheus queries"
    missing = sorted(n for n in names if n not in exposed)
    assert not missing, f"the dashboard queries metrics /metrics does not have: {missing}"


def test_http_metrics_public_serves_metrics_without_a_token(tmp_path_factory, tls_files):
    b = BrokerProcess("reflex", tmp_path_factory.mktemp("metrics-public"), tls_files,
                      env={"REFLEX_HTTP_METRICS_PUBLIC": "true"})
    b.start()
    try:
        status, text = get(b, "/metrics")
        assert status == 200 and "# TYPE reflex_mqtt_connections gauge" in text, text[:500]
        status, _ = get(b, "/api/v1/devices")
        assert status == 401, "only /metrics and /health become public"
    finally:
        b.stop()
