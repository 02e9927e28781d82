"""`reflex simulate` against a real `reflex serve`: the simulated devices register themselves in
the server's registry (--data-dir), connect with their tokens, their telemetry is stored (read
back with `reflex query` and the HTTP API), and a command published by the admin is acknowledged
on the device's ack topic.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import BROKER_KIND, BrokerProcess
from helpers import unique
from test_auth import admin, cli, first_admin_token, reflex_bin

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex registry and storage")

DEVICES = ("pump-001", "pump-002", "chiller-001")


@pytest.fixture(scope="module")
def sim_broker(tmp_path_factory, tls_files):
    b = BrokerProcess("reflex", tmp_path_factory.mktemp("simulate"), tls_files)
    b.allow_anonymous = False
    b.start()
    b.admin_token = first_admin_token(b)
    yield b
    b.stop()


@pytest.fixture
def simulator(sim_broker):
    log = sim_broker.workdir / "simulate.out"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [reflex_bin(), "simulate", "--devices", "3", "--data-dir", str(sim_broker.data_dir),
             "--broker", f"mqtt://127.0.0.1:{sim_broker.port}", "--interval", "200ms", "--seed", "3"],
            stdout=out, stderr=subprocess.STDOUT)
    yield proc, log
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def latest(b: BrokerProcess, device: str):
    res = subprocess.run([reflex_bin(), "query", "latest", device, "--json", "--data-dir", str(b.data_dir)],
                         capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        return None
    return json.loads(res.stdout)


def test_simulated_devices_store_telemetry_and_ack_commands(sim_broker, simulator):
    proc, log = simulator
    # The devices register themselves and their telemetry reaches the store.
    for device in DEVICES:
        data = wait_for(lambda: latest(sim_broker, device), 20, f"telemetry from {device}\n{log.read_text()}")
        text = json.dumps(data)
        metric = "flow" if device.startswith("pump") else "supply_temperature"
        assert metric in text, text
    listing = cli(sim_broker.data_dir, "device", "list")
    for device in DEVICES:
        assert device in listing

    # The same through the HTTP API with the admin token.
    request = urllib.request.Request(
        f"http://127.0.0.1:{sim_broker.http_port}/api/v1/devices/pump-001/series/flow/raw?limit=5",
        headers={"Authorization": f"Bearer {sim_broker.admin_token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert response.read()

    # An admin publishes a command; the device acknowledges it on the ack topic.
    a = admin(sim_broker)
    try:
        a.subscribe("devices/pump-001/commands/+/ack", qos=1)
        a.subscribe("devices/pump-001/status", qos=1)
        command_id = unique("cmd").replace("/", "-")
        a.publish("devices/pump-001/commands/set_speed",
                  json.dumps({"id": command_id, "params": {"rpm": 1500}}), qos=1)
        acks = {}
        deadline = time.monotonic() + 15
        while "done" not in acks and time.monotonic() < deadline:
            m = a.expect_message(timeout=max(0.1, deadline - time.monotonic()))
            if m.topic.endswith("/ack"):
                body = json.loads(m.payload)
                if body["id"] == command_id:
                    acks[body["status"]] = body["detail"]
            elif m.topic.endswith("/status"):
                assert m.payload == b"online"
        assert "accepted" in acks and "done" in acks, acks
        assert "1500 rpm" in acks["done"]

        bad_id = unique("cmd").replace("/", "-")
        a.publish("devices/pump-001/commands/set_speed",
                  json.dumps({"id": bad_id, "params": {"rpm": 99999}}), qos=1)
        while True:
            m = a.expect_message(timeout=10)
            if m.topic.endswith("/ack") and json.loads(m.payload)["id"] == bad_id:
                body = json.loads(m.payload)
                assert body["status"] == "rejected"
                assert "out of range" in body["detail"]
                break
    finally:
        a.close()

    # Ctrl-C stops the simulator cleanly (status 130: 128 + SIGINT, see test_signals.py); the
    # devices go offline (their will, retained).
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 130, log.read_text()
    assert "Simulating 3 devices" in log.read_text()
    watcher = admin(sim_broker)
    try:
        watcher.subscribe("devices/+/status", qos=1)
        statuses = {m.topic: m.payload for m in watcher.expect_messages(3, timeout=10)}
        assert statuses == {f"devices/{d}/status": b"offline" for d in DEVICES}, statuses
    finally:
        watcher.close()
