"""The node on PostgreSQL (issue 13): `reflex serve --store postgres://...` against a real server.

A throwaway cluster (postgres.py: `initdb` in a temporary directory, a free port, SCRAM passwords)
gives every node its own database. The node and the CLI read the same `REFLEX_STORE` setting, so
`reflex device add` and `reflex query` beside the node reach the same database. What is checked:

* a wrong or unreachable URL stops the node at startup with status 2, naming the setting, the host
  and PostgreSQL's own error, never the password;
* telemetry acknowledged over MQTT is in PostgreSQL (read back by `reflex query`), and nothing
  goes to the data directory's SQLite files;
* kill -9 during QoS 1 ingest, three times: every acknowledged sample stored, none twice, rollups
  counting each once;
* PostgreSQL stopped during publishing: the node refuses (PUBACK 0x80), keeps running and answers
  503 on /health, and resumes when the server is back; every acknowledged sample stored once;
* broker state (a queued QoS 1 message for an offline persistent session, a retained message)
  acknowledged 0.3 s before a kill -9 is delivered after the restart;
* a device disabled by the CLI is disconnected from the running node (the registry's change
  detection works across processes on PostgreSQL too).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from conftest import BROKER_KIND, BrokerProcess, free_port
from helpers import V5, V311, MqttClient, topics_seen, unique
from postgres import PASSWORD
from test_auth import TOKEN, reflex_bin

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="the Reflex store setting")

UNSPECIFIED_ERROR = 0x80


def run_cli(store: str, data_dir: Path, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    env = dict(os.environ, REFLEX_STORE=store)
    res = subprocess.run([reflex_bin(), *args, "--data-dir", str(data_dir)], capture_output=True, text=True,
                         timeout=timeout, env=env)
    if check:
        assert res.returncode == 0, f"reflex {' '.join(args)} failed ({res.returncode}): {res.stderr}"
    return res


class PostgresNode(BrokerProcess):
    """A Reflex node whose store is a fresh database of the test cluster."""

    def __init__(self, cluster, workdir: Path, tls: dict[str, str], env: dict[str, str] | None = None):
        self.store = cluster.url(cluster.create_database("node"))
        super().__init__("reflex", workdir, tls, {"REFLEX_STORE": self.store, **(env or {})})
        self.allow_anonymous = False
        self.tokens: dict[str, str] = {}

    def cli(self, *args: str) -> str:
        return run_cli(self.store, self.data_dir, *args).stdout

    def add_device(self, device: str) -> str:
        out = self.cli("device", "add", device, "--type", "test")
        token = TOKEN.search(out).group(0)
        self.tokens[device] = token
        return token

    def query(self, *args: str):
        return json.loads(self.cli("query", *args, "--json"))

    def health(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/health", timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")


@pytest.fixture(scope="module")
def pg_node(postgres_cluster, tmp_path_factory, tls_files):
    node = PostgresNode(postgres_cluster, tmp_path_factory.mktemp("pg-node"), tls_files)
    for device in ("pumpA", "pumpB", "crash-1"):
        node.add_device(device)
    node.start()
    yield node
    node.stop()


def device_client(node: PostgresNode, device: str, version: int = V5, client_id: str | None = None,
                  **kw) -> MqttClient:
    """A connected paho client of `device` (its token from the registry in PostgreSQL)."""
    c = MqttClient(node, client_id or unique(device).replace("/", "-"), version, connect=False, **kw)
    c.c.username_pw_set(device, node.tokens[device])
    c.connect()
    assert c.connack_rc == 0
    return c


def rc(result) -> int:
    return getattr(result, "value", result)


# ------------------------------------------------------------------------------------------------
# Startup with a bad setting
# ------------------------------------------------------------------------------------------------

def serve_once(store: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, REFLEX_STORE=store)
    return subprocess.run([reflex_bin(), "serve", "--data-dir", str(data_dir),
                           "--mqtt-listen", f"127.0.0.1:{free_port()}", "--http-listen", f"127.0.0.1:{free_port()}"],
                          capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)


def test_an_unreachable_server_stops_the_node_with_status_2(tmp_path):
    port = free_port()  # nothing listens there
    res = serve_once(f"postgres://reflex:s3cret-pw@127.0.0.1:{port}/reflex", tmp_path)
    assert res.returncode == 2, res.stderr
    assert "store" in res.stderr and f"127.0.0.1:{port}" in res.stderr, res.stderr
    assert "s3cret-pw" not in res.stderr + res.stdout


def test_a_wrong_password_stops_the_node_with_postgres_own_error(postgres_cluster, tmp_path):
    database = postgres_cluster.create_database("badpw")
    res = serve_once(postgres_cluster.url(database, password="not-the-password"), tmp_path)
    assert res.returncode == 2, res.stderr
    assert "password authentication failed" in res.stderr, res.stderr
    assert f"127.0.0.1:{postgres_cluster.port}" in res.stderr, res.stderr
    assert "not-the-password" not in res.stderr + res.stdout


# ------------------------------------------------------------------------------------------------
# Ingest and read-back
# ------------------------------------------------------------------------------------------------

def test_acknowledged_telemetry_is_in_postgres_and_not_in_sqlite(pg_node):
    pump = device_client(pg_node, "pumpA")
    try:
        ts = int(time.time() * 1000) - 60_000
        for i in range(5):
            payload = json.dumps({"ts": ts + i * 1000, "values": {"flow": 10 + i, "pressure": 2.5}})
            assert rc(pump.publish("devices/pumpA/telemetry", payload, qos=1)) == 0
    finally:
        pump.close()
    rows = pg_node.query("raw", "pumpA", "flow", "--from", str(ts), "--to", str(ts + 5000))
    assert [r["value"] for r in rows] == [10, 11, 12, 13, 14]
    assert pg_node.query("latest", "pumpA")  # the CLI reads the node's database
    count = pg_node_samples(pg_node)
    assert count >= 10, f"{count} sample rows in PostgreSQL"
    sqlite_files = sorted(p.name for p in pg_node.data_dir.glob("*.sqlite*"))
    assert not sqlite_files, f"the data directory holds SQLite files on a postgres store: {sqlite_files}"
    log = pg_node.stderr_path.read_text(errors="replace")
    assert "store=postgres://reflex:***@127.0.0.1:" in log, "the node's start line names its store"
    assert PASSWORD not in log, "the store's password appears in the node's log"


def pg_node_samples(node: PostgresNode) -> int:
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-c", "SELECT count(*) FROM samples", node.store],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


# ------------------------------------------------------------------------------------------------
# kill -9 during ingest
# ------------------------------------------------------------------------------------------------

class QoS1Stream(threading.Thread):
    """A device publishing QoS 1 samples (ts = base + n, value n) as fast as a window of 50
    unacknowledged PUBLISHes allows, recording which were acknowledged (and with what reason)."""

    def __init__(self, node: PostgresNode, device: str, base: int, start: int, version=mqtt.MQTTv5):
        super().__init__(daemon=True)
        self.node, self.device, self.base, self.next = node, device, base, start
        self.lock = threading.Lock()
        self.pending: dict[int, int] = {}  # mid -> ts
        self.early: dict[int, int] = {}  # mid -> reason, PUBACKs before publish() returned
        self.acked: set[int] = set()
        self.refused: set[int] = set()
        self.sent: list[int] = []
        self.stop_flag = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=unique(device).replace("/", "-"),
                                  protocol=version, reconnect_on_failure=False)
        self.client.username_pw_set(device, node.tokens[device])
        self.client.max_inflight_messages_set(50)
        self.client.on_publish = self._on_publish
        self.client.connect(node.host, node.port, keepalive=30)
        self.client.loop_start()

    def _on_publish(self, c, userdata, mid, reason_code, properties):
        code = getattr(reason_code, "value", 0) if reason_code is not None else 0
        with self.lock:
            ts = self.pending.pop(mid, None)
            if ts is None:
                self.early[mid] = code
                return
            (self.refused if code >= 0x80 else self.acked).add(ts)

    def run(self):
        while not self.stop_flag.is_set():
            ts = self.base + self.next
            payload = json.dumps({"ts": ts, "values": {"seq": self.next}})
            info = self.client.publish(f"devices/{self.device}/telemetry", payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS and not self.client.is_connected():
                return
            self.next += 1
            self.sent.append(ts)
            with self.lock:
                if info.mid in self.early:
                    code = self.early.pop(info.mid)
                    (self.refused if code >= 0x80 else self.acked).add(ts)
                else:
                    self.pending[info.mid] = ts
            while len(self.pending) >= 50 and not self.stop_flag.is_set():
                time.sleep(0.001)

    def finish(self):
        self.stop_flag.set()
        self.join(10)
        self.client.loop_stop()
        self.client.disconnect()


def stored(node: PostgresNode, device: str, base: int, count: int) -> list[dict]:
    return node.query("raw", device, "seq", "--from", str(base), "--to", str(base + count + 1),
                      "--limit", str(count + 10))


def test_acknowledged_samples_survive_kill9_on_postgres(pg_node):
    """SIGKILL the node three times during QoS 1 ingest; after each restart every acknowledged
    sample is in PostgreSQL with its value, nothing unpublished is, and finally each key once."""
    rng = random.Random(13)
    base = int(time.time() * 1000) - 7_200_000
    base -= base % 3_600_000  # hour-aligned: the aggregate below reads the hourly rollup
    acked: set[int] = set()
    sent: list[int] = []
    start = 0
    for round_ in range(3):
        stream = QoS1Stream(pg_node, "crash-1", base, start)
        stream.start()
        time.sleep(rng.uniform(0.8, 1.6))
        stream.stop_flag.set()
        pg_node.kill9_restart()
        stream.finish()
        acked |= stream.acked
        sent += stream.sent
        start = stream.next
        rows = stored(pg_node, "crash-1", base, start)
        keys = {r["timestamp"] for r in rows}
        missing = sorted(acked - keys)
        assert not missing, f"round {round_}: {len(missing)} acknowledged samples lost, e.g. {missing[:5]}"
        assert keys <= set(sent), f"stored samples never published: {sorted(keys - set(sent))[:5]}"
        assert all(r["value"] == r["timestamp"] - base for r in rows)
        print(f"round {round_}: sent {len(sent)}, acknowledged {len(acked)}, stored {len(keys)}")
    assert len(acked) > 100, "the publisher should have had acknowledgements before each kill"
    # Redeliver what was not acknowledged, plus some that were (duplicates the store must absorb).
    again = sorted(set(sent) - acked) + sorted(acked)[-20:]
    c = device_client(pg_node, "crash-1")
    try:
        for ts in again:
            assert rc(c.publish("devices/crash-1/telemetry", json.dumps({"ts": ts, "values": {"seq": ts - base}}),
                                qos=1, timeout=15)) == 0
    finally:
        c.close()
    rows = stored(pg_node, "crash-1", base, start)
    per_key = Counter(r["timestamp"] for r in rows)
    assert set(per_key) == set(sent)
    assert max(per_key.values()) == 1
    hour = 3_600_000
    buckets = pg_node.query("aggregate", "crash-1", "seq", "--from", str(base),
                            "--to", str((base + start) // hour * hour + hour), "--step", "1h")
    assert sum(int(b["count"]) for b in buckets) == len(set(sent)), "a redelivered sample was counted twice"


# ------------------------------------------------------------------------------------------------
# PostgreSQL stopped during publishing
# ------------------------------------------------------------------------------------------------

def test_a_database_restart_during_publishing_refuses_then_resumes(postgres_cluster, tmp_path_factory, tls_files):
    """Stop the server while a device publishes QoS 1 (MQTT 5): the node refuses with 0x80 instead
    of acknowledging what it could not commit, stays up (HTTP /health 503, other clients served),
    and after the server is back it acknowledges again. Every acknowledged sample is stored once."""
    node = PostgresNode(postgres_cluster, tmp_path_factory.mktemp("pg-restart"), tls_files)
    node.add_device("pumpA")
    node.start()
    try:
        base = int(time.time() * 1000) - 3_600_000
        stream = QoS1Stream(node, "pumpA", base, 0)
        stream.start()
        time.sleep(1.0)
        postgres_cluster.stop_server()
        try:
            deadline = time.monotonic() + 20
            while not stream.refused and time.monotonic() < deadline:
                time.sleep(0.05)
            assert stream.refused, "no PUBACK 0x80 while PostgreSQL was down"
            assert node.alive()
            status, body = node.health()
            assert status == 503, (status, body)
        finally:
            postgres_cluster.start_server()
        refused_at_restart = len(stream.refused)
        acked_at_restart = len(stream.acked)
        deadline = time.monotonic() + 40
        while len(stream.acked) < acked_at_restart + 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        stream.finish()
        assert len(stream.acked) >= acked_at_restart + 200, (
            f"ingest did not resume after PostgreSQL came back: {len(stream.acked)} acknowledged, "
            f"{len(stream.refused)} refused ({refused_at_restart} at the restart)")
        print(f"database restart: {len(stream.sent)} sent, {len(stream.acked)} acknowledged, "
              f"{len(stream.refused)} refused with 0x80")
        rows = node.query("raw", "pumpA", "seq", "--from", str(base), "--to", str(base + stream.next + 1),
                          "--limit", str(stream.next + 10))
        per_key = Counter(r["timestamp"] for r in rows)
        missing = sorted(stream.acked - set(per_key))
        assert not missing, f"{len(missing)} acknowledged samples lost across the database restart: {missing[:5]}"
        assert max(per_key.values(), default=1) == 1
        status, _ = node.health()
        assert status == 200
    finally:
        node.stop()


# ------------------------------------------------------------------------------------------------
# Broker state and registry on PostgreSQL
# ------------------------------------------------------------------------------------------------

def persistent_pump(node: PostgresNode, name: str, version: int) -> MqttClient:
    """pumpA with a session that outlives the connection (3.1.1 clean session 0; v5 expiry 1 h)."""
    if version == V5:
        return device_client(node, "pumpA", V5, client_id=name, clean=False, session_expiry=3600)
    return device_client(node, "pumpA", V311, client_id=name, clean=False)


@pytest.mark.parametrize("version", [V311, V5], ids=["v311", "v5"])
def test_queued_and_retained_messages_survive_kill9_on_postgres(pg_node, version):
    """The issue-19 reproduction on PostgreSQL: a persistent subscriber goes offline, a QoS 1
    message to it and a retained QoS 1 message are acknowledged, kill -9 0.3 s later: both arrive
    after the restart."""
    name = unique("pg-persist").replace("/", "-")
    marker = unique("m").replace("/", "-")
    sub = persistent_pump(pg_node, name, version)
    assert sub.subscribe(f"devices/pumpA/commands/{marker}", 1) == [1]
    sub.disconnect()
    pump = device_client(pg_node, "pumpA")
    try:
        assert rc(pump.publish(f"devices/pumpA/commands/{marker}", b"go", qos=1)) == 0
        assert rc(pump.publish(f"devices/pumpA/config/{marker}", b"kept", qos=1, retain=True)) == 0
    finally:
        pump.close()
    time.sleep(0.3)
    pg_node.kill9_restart()
    again = persistent_pump(pg_node, name, version)
    try:
        assert again.session_present is True
        got = again.receive_until(topics_seen(f"devices/pumpA/commands/{marker}"), what="the queued message")
        assert [m.payload for m in got if m.topic.endswith(marker)] == [b"go"]
        again.subscribe(f"devices/pumpA/config/{marker}", 1)
        m = again.expect_message(5)
        assert (m.topic, m.payload, m.retain) == (f"devices/pumpA/config/{marker}", b"kept", True)
    finally:
        again.close()


def test_a_device_disabled_by_the_cli_is_disconnected_on_postgres(pg_node):
    pg_node.add_device("pumpC")
    c = device_client(pg_node, "pumpC")
    started = time.monotonic()
    pg_node.cli("device", "disable", "pumpC")
    deadline = time.monotonic() + 2
    while c.connected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not c.connected, "a disabled device stays connected"
    print(f"disconnected {time.monotonic() - started:.2f} s after the CLI started")
    again = MqttClient(pg_node, unique("pumpC").replace("/", "-"), V5, connect=False)
    again.c.username_pw_set("pumpC", pg_node.tokens["pumpC"])
    again.connect()
    assert again.connack_rc != 0
