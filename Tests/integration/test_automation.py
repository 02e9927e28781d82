"""Automation end to end against a real `reflex serve`: a rules file and a device publishing over
MQTT (paho) raise an alarm visible through the API, the device receives the rule's command on its
command topic and acknowledges it, the command reaches `done`, the audit log explains it, a viewer
may not act, and a manual override blocks the next command (audited). Standard library + paho.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import BROKER_KIND, BrokerProcess
from test_auth import TOKEN, cli, client, reflex_bin, first_admin_token

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex automation")

RULES = """\
rule: pump-overheat
scope: { type: pump }
when: temperature > 85
clear: temperature < 80
do:
  - alarm: { type: overheat, severity: major, message: "bearing at {temperature} °C" }
  - command: { name: set_speed, params: { rpm: 900 }, ttl: 1m }
interlocks: [ "pressure < 12" ]
---
rule: broken
scope: { type: pump }
when: temperature >
do:
  - alarm: { type: never }
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory, tls_files):
    b = BrokerProcess("reflex", tmp_path_factory.mktemp("automation"), tls_files)
    b.allow_anonymous = False
    out = cli(b.data_dir, "device", "add", "pump-9", "--type", "pump")
    b.device_token = TOKEN.search(out).group(0)
    (b.data_dir / "rules").mkdir(parents=True, exist_ok=True)
    (b.data_dir / "rules" / "pumps.yaml").write_text(RULES)
    b.start()
    b.admin_token = first_admin_token(b)
    b.viewer_token = TOKEN.search(cli(b.data_dir, "token", "create", "--role", "viewer", "--name", "watcher")).group(0)
    yield b
    b.stop()


def call(node, method: str, path: str, body=None, token: str | None = None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{node.http_port}{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {token or node.admin_token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            raw = res.read()
            return res.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def wait_for(what: str, fetch, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fetch()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def device(node):
    c = client(node, "pump-9", node.device_token, client_id="pump-9")
    c.connect()
    c.subscribe("devices/pump-9/commands/+", qos=1)
    return c


def test_rules_file_loads_good_rules_and_reports_bad_ones(node):
    status, body = call(node, "GET", "/api/v1/rules")
    assert status == 200
    rules = {r["id"]: r for r in body["rules"]}
    assert rules["pump-overheat"]["version"] == 1 and rules["pump-overheat"]["errors"] == []
    assert rules["pump-overheat"]["source"] == "file:rules/pumps.yaml"
    assert "line 12" in rules["broken"]["errors"][0] and "ends too early" in rules["broken"]["errors"][0]


def test_alarm_command_ack_and_audit(node):
    dev = device(node)
    try:
        dev.publish("devices/pump-9/telemetry", json.dumps({"values": {"temperature": 95.5, "pressure": 9.8}}), qos=1)
        alarms = wait_for("an overheat alarm", lambda: call(node, "GET", "/api/v1/alarms?device=pump-9")[1]["alarms"])
        assert alarms[0]["type"] == "overheat" and alarms[0]["state"] == "active"
        assert alarms[0]["message"] == "bearing at 95.5 °C" and alarms[0]["rule"] == "pump-overheat"

        msg = dev.expect_message(timeout=5)
        assert msg.topic == "devices/pump-9/commands/set_speed"
        command = json.loads(msg.payload)
        assert command["params"] == {"rpm": 900} and command["expiresAt"] > 0
        dev.publish("devices/pump-9/commands/set_speed/ack",
                    json.dumps({"id": command["id"], "status": "done", "detail": "speed set"}), qos=1)
        done = wait_for("the command done",
                        lambda: (lambda c: c if c["state"] == "done" else None)(
                            call(node, "GET", f"/api/v1/commands/{command['id']}")[1]))
        assert [h["state"] for h in done["history"]][:2] == ["queued", "sent"]
        assert done["origin"] == "rule:pump-overheat@1"

        def fired():
            entries = call(node, "GET", "/api/v1/audit?device=pump-9&rule=pump-overheat")[1]["entries"]
            return [e for e in entries if e["decision"] == "fired"]
        entry = wait_for("a fired audit entry", fired)[0]
        assert entry["inputs"]["temperature"] == 95.5
        assert entry["interlocks"] == [{"expression": "pressure < 12", "held": True, "detail": "pressure = 9.8"}]
        assert entry["ruleVersion"] == 1 and "set_speed" in entry["summary"]

        # A viewer may read but not act.
        status, body = call(node, "POST", f"/api/v1/alarms/{alarms[0]['id']}/acknowledge", {}, token=node.viewer_token)
        assert status == 403 and "needs operator" in body["error"]["message"]
        status, body = call(node, "POST", f"/api/v1/alarms/{alarms[0]['id']}/acknowledge", {"note": "on it"})
        assert status == 200 and body["state"] == "acknowledged" and body["notes"][0]["text"] == "on it"

        # The CLI talks to the same API.
        res = subprocess.run([reflex_bin(), "alarm", "list", "--server", f"http://127.0.0.1:{node.http_port}",
                              "--token", node.admin_token, "--state", "all"],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        assert "overheat" in res.stdout and "pump-9" in res.stdout

        # The episode ends; the alarm clears by itself.
        dev.publish("devices/pump-9/telemetry", json.dumps({"values": {"temperature": 70.0}}), qos=1)
        wait_for("the alarm to clear", lambda: call(node, "GET", f"/api/v1/alarms/{alarms[0]['id']}")[1]["state"] == "cleared")
    finally:
        dev.close()


def test_override_blocks_the_command_and_is_audited(node):
    dev = device(node)
    try:
        status, body = call(node, "PUT", "/api/v1/devices/pump-9/override", {"reason": "maintenance", "for": "10m"})
        assert status == 200 and body["mode"] == "manual" and body["by"] == "initial-admin"
        dev.publish("devices/pump-9/telemetry", json.dumps({"values": {"temperature": 70.0, "pressure": 9.0}}), qos=1)
        dev.publish("devices/pump-9/telemetry", json.dumps({"values": {"temperature": 99.0}}), qos=1)

        def blocked():
            entries = call(node, "GET", "/api/v1/audit?device=pump-9")[1]["entries"]
            return [e for e in entries if e["decision"] == "suppressed_override"]
        entry = wait_for("a suppressed_override entry", blocked)[0]
        assert "manual (override by initial-admin: maintenance)" in entry["summary"]
        dev.expect_no_message(timeout=1.0)

        status, body = call(node, "DELETE", "/api/v1/devices/pump-9/override")
        assert status == 200 and body["mode"] == "auto"
    finally:
        dev.close()


def test_operator_command_and_validation_errors(node):
    dev = device(node)
    try:
        status, body = call(node, "POST", "/api/v1/devices/pump-9/commands",
                            {"name": "stop", "params": {}, "idempotencyKey": "itest-stop"})
        assert status == 202 and body["origin"] == "operator:initial-admin"
        msg = dev.expect_message(timeout=5)
        assert msg.topic == "devices/pump-9/commands/stop"
        status, again = call(node, "POST", "/api/v1/devices/pump-9/commands",
                             {"name": "stop", "params": {}, "idempotencyKey": "itest-stop"})
        assert status == 202 and again["id"] == body["id"]
        status, body = call(node, "POST", "/api/v1/devices/pump-9/commands", {"name": "stop"}, token=node.viewer_token)
        assert status == 403
    finally:
        dev.close()
    req = urllib.request.Request(f"http://127.0.0.1:{node.http_port}/api/v1/rules/typo", method="PUT",
                                 data=b"rule: typo\nscope: { type: pump }\nwhen: temprature > 1\ndo:\n  - alarm: { type: x }\n")
    req.add_header("Authorization", f"Bearer {node.admin_token}")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400
    message = json.loads(err.value.read())["error"]["message"]
    assert "api line 3, rule 'typo': unknown metric 'temprature'; did you mean 'temperature'?" in message
