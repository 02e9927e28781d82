"""Log injection and tokens in logs (issue 12, item 7 and the low item on tokens), against a running
`reflex serve`: client ids and user names carrying newlines and ESC must not forge log lines or
reach the terminal, a token given as user name must never be logged, and `reflex query dead-letters`
must not print a device's control characters raw.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from conftest import BROKER_KIND, BrokerProcess
from helpers import V5, V311, MqttClient
from test_auth import add_device, cli, first_admin_token

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex logging")

FORGED = "2026-12-07T00:00:00+0000 critical reflex: [ReflexServer] FORGED node compromised"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u2028\u2029]")


@pytest.fixture(scope="module", params=["text", "json"])
def log_node(request, tmp_path_factory, tls_files):
    b = BrokerProcess("reflex", tmp_path_factory.mktemp(f"logs-{request.param}"), tls_files,
                      {"REFLEX_LOG_FORMAT": request.param, "REFLEX_LOG_LEVEL": "debug"})
    b.allow_anonymous = False
    b.device_token = add_device(b.data_dir, "pumpA")
    b.start()
    b.admin_token = first_admin_token(b)
    b.log_format = request.param
    yield b
    b.stop()


def refused_connect(broker, client_id: str, username: str, password: str, version: int = V5) -> int:
    c = MqttClient(broker, client_id, version, connect=False)
    c.c.username_pw_set(username, password)
    try:
        c.connect(timeout=5)
        return c.connack_rc
    except AssertionError:
        return -1  # closed before CONNACK also counts as refused
    finally:
        c.c.disconnect()
        c.c.loop_stop()


def log_lines(broker) -> list[str]:
    assert broker.stderr_path is not None
    return broker.stderr_path.read_text(encoding="utf-8", errors="replace").splitlines()


def assert_clean(broker, lines: list[str]) -> None:
    for line in lines:
        assert "FORGED" not in line.split("]", 1)[0], f"a forged line: {line!r}"
        assert not line.startswith(FORGED[:26]), f"a forged line: {line!r}"
        assert not CONTROL.search(line), f"a raw control character in the log: {line!r}"
        if broker.log_format == "json":
            json.loads(line)  # every line is still one JSON object


@pytest.mark.parametrize("version", [V5, V311])
def test_client_id_and_user_name_cannot_forge_log_lines(log_node, version):
    evil = f"pumpA\n{FORGED}\x1b[2J\x1b]0;owned\x07\u009b31m\u2028x"
    rc = refused_connect(log_node, f"cid-{version}-{evil}", f"user-{evil}", "wrong-password", version)
    assert rc != 0
    lines = log_lines(log_node)
    refused = [line for line in lines if "Refused MQTT credentials" in line and f"cid-{version}-" in line]
    assert refused, "the refusal was not logged:\n" + "\n".join(lines[-20:])
    assert_clean(log_node, lines)
    # The escaped text is there, on the refusal's own line.
    escaped = "\\\\u{1B}[2J" if log_node.log_format == "json" else "\\u{1B}[2J"
    assert escaped in refused[-1] and "FORGED" in refused[-1]


def test_a_token_given_as_user_name_is_never_logged(log_node):
    """A client that swaps user name and password: the token must not reach the log."""
    token = log_node.device_token
    assert refused_connect(log_node, "swapped-credentials", token, "pumpA") != 0
    assert refused_connect(log_node, token, "pumpA", "wrong") != 0  # as client id too
    text = "\n".join(log_lines(log_node))
    assert token not in text and token[8:] not in text
    assert "rfx_dev_<redacted>" in text
    assert log_node.admin_token not in text and log_node.admin_token[7:] not in text


def test_dead_letters_print_no_raw_control_characters(log_node):
    """A device's metric name with ESC and BEL becomes a dead letter; `reflex query dead-letters` escapes it."""
    c = MqttClient(log_node, "pumpA", V5, connect=False)
    c.c.username_pw_set("pumpA", log_node.device_token)
    c.connect()
    try:
        payload = json.dumps({"values": {"temp\x1b]0;pwned\x07\x1b[2J": 1}}).encode()
        c.publish("devices/pumpA/telemetry", payload, qos=1)
    finally:
        c.c.disconnect()
        c.c.loop_stop()
    letters = json.loads(cli(log_node.data_dir, "query", "dead-letters", "--limit", "1", "--json"))
    assert letters and "\x1b" in letters[0]["reason"], letters  # the reason quotes the ESC
    res = subprocess.run([*cli_command(log_node), "query", "dead-letters", "--limit", "5",
                          "--data-dir", str(log_node.data_dir)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert "\x1b" not in res.stdout and "\x07" not in res.stdout, repr(res.stdout)
    assert "bad_metric_name" in res.stdout and "\\u{1B}" in res.stdout, res.stdout
    assert_clean(log_node, log_lines(log_node))


def cli_command(broker) -> list[str]:
    from test_auth import reflex_bin

    return [reflex_bin()]
