"""The automation routes that only the browser tests used to reach, called directly over HTTP
against a real `reflex serve`: approving and rejecting a command that waits for approval, notes on
an alarm, enabling and disabling a rule, and `/api/v1/automation/stats`.

Each check reads the effect back (the device receives the approved command and not the rejected
one; a disabled rule does not fire; the counters move), so a route that answers 200 and does
nothing fails here.
"""

from __future__ import annotations

import json
import time

import pytest

from conftest import BROKER_KIND, BrokerProcess
from test_auth import TOKEN, cli, client, first_admin_token
from test_automation import call, wait_for

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex automation")

RULES = """\
rule: valve-approve
scope: { devices: [valve-1, valve-2, valve-3] }
when: pressure > 10
clear: pressure < 5
do:
  - alarm: { type: overpressure, severity: major, message: "pressure {pressure} bar" }
  - command: { name: close, params: { position: 0 }, ttl: 5m }
approval: true
---
rule: valve-auto
scope: { devices: [valve-4] }
when: pressure > 10
clear: pressure < 5
do:
  - command: { name: close, params: { position: 0 }, ttl: 5m }
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory, tls_files):
    b = BrokerProcess("reflex", tmp_path_factory.mktemp("automation-routes"), tls_files)
    b.allow_anonymous = False
    b.tokens = {}
    for dev in ("valve-1", "valve-2", "valve-3", "valve-4"):
        b.tokens[dev] = TOKEN.search(cli(b.data_dir, "device", "add", dev, "--type", "valve")).group(0)
    (b.data_dir / "rules").mkdir(parents=True, exist_ok=True)
    (b.data_dir / "rules" / "valves.yaml").write_text(RULES)
    b.start()
    b.admin_token = first_admin_token(b)
    b.operator_token = TOKEN.search(
        cli(b.data_dir, "token", "create", "--role", "operator", "--name", "shift")).group(0)
    b.viewer_token = TOKEN.search(
        cli(b.data_dir, "token", "create", "--role", "viewer", "--name", "watch")).group(0)
    wait_for("the rule to load", lambda: call(b, "GET", "/api/v1/rules/valve-approve")[0] == 200)
    yield b
    b.stop()


def valve(node, dev: str):
    c = client(node, dev, node.tokens[dev], client_id=dev)
    c.subscribe(f"devices/{dev}/commands/+", qos=1)
    return c


def pending_command(node, dev: str) -> dict:
    def pending():
        commands = call(node, "GET", f"/api/v1/commands?device={dev}")[1]["commands"]
        return [c for c in commands if c["state"] == "pending_approval"]
    return wait_for(f"a command pending approval for {dev}", pending)[0]


def stats(node) -> dict:
    status, body = call(node, "GET", "/api/v1/automation/stats", token=node.viewer_token)
    assert status == 200, body
    return body


def test_approve_sends_the_waiting_command(node):
    dev = valve(node, "valve-1")
    try:
        dev.publish("devices/valve-1/telemetry", json.dumps({"values": {"pressure": 12.5}}), qos=1)
        command = pending_command(node, "valve-1")
        dev.expect_no_message(timeout=0.5)  # waits for an operator, not sent yet

        status, body = call(node, "POST", f"/api/v1/commands/{command['id']}/approve", {"note": "ok"},
                            token=node.viewer_token)
        assert status == 403
        status, body = call(node, "POST", f"/api/v1/commands/{command['id']}/approve", {"note": "go"},
                            token=node.operator_token)
        assert status == 200, body
        assert body["state"] in ("queued", "sent", "delivered")
        msg = dev.expect_message(timeout=5)
        assert msg.topic == "devices/valve-1/commands/close"
        assert json.loads(msg.payload)["id"] == command["id"]

        status, body = call(node, "POST", f"/api/v1/commands/{command['id']}/approve", {},
                            token=node.operator_token)
        assert status == 409, body  # no longer pending

        def approved():
            entries = call(node, "GET", "/api/v1/audit?device=valve-1")[1]["entries"]
            return [e for e in entries if e["decision"] == "approved"]
        entry = wait_for("an approved audit entry", approved)[0]
        assert entry["actor"] == "operator:shift"
    finally:
        dev.close()


def test_reject_cancels_the_waiting_command(node):
    dev = valve(node, "valve-2")
    try:
        dev.publish("devices/valve-2/telemetry", json.dumps({"values": {"pressure": 13.0}}), qos=1)
        command = pending_command(node, "valve-2")
        status, body = call(node, "POST", f"/api/v1/commands/{command['id']}/reject", {"reason": "false reading"},
                            token=node.operator_token)
        assert status == 200, body
        assert body["state"] == "cancelled"
        dev.expect_no_message(timeout=1.0)
        status, body = call(node, "GET", f"/api/v1/commands/{command['id']}")
        assert body["state"] == "cancelled"
        status, body = call(node, "POST", "/api/v1/commands/c-does-not-exist/reject", {}, token=node.operator_token)
        assert status == 404
    finally:
        dev.close()


def test_alarm_notes_are_kept_in_order(node):
    alarms = wait_for("the valve-1 alarm",
                      lambda: call(node, "GET", "/api/v1/alarms?device=valve-1&state=all")[1]["alarms"])
    alarm_id = alarms[0]["id"]
    status, _ = call(node, "POST", f"/api/v1/alarms/{alarm_id}/notes", {"text": "x"}, token=node.viewer_token)
    assert status == 403
    status, body = call(node, "POST", f"/api/v1/alarms/{alarm_id}/notes", {}, token=node.operator_token)
    assert status == 400, body
    for text in ("first look: gauge reads high", "second: replaced the gauge"):
        status, body = call(node, "POST", f"/api/v1/alarms/{alarm_id}/notes", {"text": text},
                            token=node.operator_token)
        assert status == 200, body
    status, body = call(node, "GET", f"/api/v1/alarms/{alarm_id}")
    texts = [n["text"] for n in body["notes"]]
    assert texts[-2:] == ["first look: gauge reads high", "second: replaced the gauge"]
    assert body["notes"][-1]["by"] == "shift"


def test_disabled_rule_does_not_fire_and_enabled_again_does(node):
    before = stats(node)
    status, body = call(node, "POST", "/api/v1/rules/valve-approve/disable", {}, token=node.operator_token)
    assert status == 403  # admin only
    status, body = call(node, "POST", "/api/v1/rules/valve-approve/disable", {})
    assert status == 200 and body["enabled"] is False, body

    dev = valve(node, "valve-3")
    try:
        dev.publish("devices/valve-3/telemetry", json.dumps({"values": {"pressure": 15.0}}), qos=1)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:  # nothing may appear while the rule is disabled
            assert call(node, "GET", "/api/v1/alarms?device=valve-3&state=all")[1]["alarms"] == []
            time.sleep(0.2)

        status, body = call(node, "POST", "/api/v1/rules/valve-approve/enable", {})
        assert status == 200 and body["enabled"] is True, body
        dev.publish("devices/valve-3/telemetry", json.dumps({"values": {"pressure": 15.5}}), qos=1)
        wait_for("the valve-3 alarm once enabled",
                 lambda: call(node, "GET", "/api/v1/alarms?device=valve-3")[1]["alarms"])
        pending_command(node, "valve-3")
    finally:
        dev.close()

    after = stats(node)
    assert after["rules"] == 2
    assert after["openAlarms"] == before["openAlarms"] + 1  # valve-3's, raised once enabled
    assert after["decisions"] == before["decisions"]  # commands waiting for approval are not timed
    assert after["autonomyEnabled"] is True


def test_stats_count_rule_commands_and_their_latency(node):
    before = stats(node)
    dev = valve(node, "valve-4")
    try:
        dev.publish("devices/valve-4/telemetry", json.dumps({"values": {"pressure": 11.0}}), qos=1)
        msg = dev.expect_message(timeout=5)
        assert msg.topic == "devices/valve-4/commands/close"
    finally:
        dev.close()
    after = wait_for("the statistics to count the rule's command",
                     lambda: (lambda s: s if s["decisions"] == before["decisions"] + 1 else None)(stats(node)))
    assert after["latencyP50Microseconds"] is not None and after["latencyP50Microseconds"] > 0
    assert after["latencyP99Microseconds"] >= after["latencyP50Microseconds"]
    status, _ = call(node, "GET", "/api/v1/automation/stats", token="rfx_op_not-a-token")
    assert status == 401
