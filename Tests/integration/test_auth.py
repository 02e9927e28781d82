"""Device authentication and topic authorization, against a Reflex started WITHOUT --allow-anonymous.

Devices are registered with the `reflex device` CLI on the broker's data directory before it starts
(and some while it runs, to check that the server notices). The first start prints an admin
operator token on standard output; the tests use it as an MQTT user that may subscribe anywhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BROKER_KIND, REPO_ROOT, BrokerProcess, store_env
from helpers import V5, V311, VERSIONS, MqttClient, RawClient, encode_props, mosquitto_pub, mqtt_version_ids, \
    mstr, packet, unique

pytestmark = pytest.mark.skipif(BROKER_KIND != "reflex", reason="Reflex device registry")

CONNECT = 1
SUBACK = 9
TOKEN = re.compile(r"rfx_(?:dev|op)_[A-Za-z0-9_-]+")


def reflex_bin() -> str:
    path = Path(os.environ.get("REFLEX_BIN", ".build/debug/reflex"))
    return str(path if path.is_absolute() else REPO_ROOT / path)


def cli(data_dir: Path, *args: str) -> str:
    res = subprocess.run([reflex_bin(), *args, "--data-dir", str(data_dir)], capture_output=True, text=True,
                         timeout=30, env={**os.environ, **store_env(data_dir)})
    assert res.returncode == 0, f"reflex {' '.join(args)} failed ({res.returncode}): {res.stderr}"
    return res.stdout


def add_device(data_dir: Path, device_id: str) -> str:
    out = cli(data_dir, "device", "add", device_id, "--type", "test")
    assert "store it now; it cannot be shown again" in out
    return TOKEN.search(out).group(0)


def first_admin_token(broker) -> str:
    """The admin token the node printed once at its first start (waits up to 10 s for it)."""
    stdout = broker.workdir / "broker-1.stdout"
    deadline = time.monotonic() + 10
    while not TOKEN.search(stdout.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    match = TOKEN.search(stdout.read_text())
    assert match and match.group(0).startswith("rfx_op_"), f"no admin token on stdout: {stdout.read_text()!r}"
    return match.group(0)


@pytest.fixture(scope="module")
def auth_broker(tmp_path_factory, tls_files):
    b = BrokerProcess("reflex", tmp_path_factory.mktemp("auth"), tls_files)
    b.allow_anonymous = False
    b.tokens = {d: add_device(b.data_dir, d) for d in ("dev-a", "dev-b", "dev-off", "dev-rot")}
    cli(b.data_dir, "device", "disable", "dev-off")
    b.start()
    b.admin_token = first_admin_token(b)
    yield b
    b.stop()


def client(broker, username: str | None, password: str | None, version: int = V5, client_id: str = "",
           **kw) -> MqttClient:
    c = MqttClient(broker, client_id or unique("auth").replace("/", "-"), version, connect=False, **kw)
    if username is not None or password is not None:
        c.c.username_pw_set(username, password)
    c.connect()
    return c


def admin(broker, version: int = V5) -> MqttClient:
    c = client(broker, "operator:initial-admin", broker.admin_token, version)
    assert c.connack_rc == 0
    return c


def raw_connect(broker, version: int, username: str | None, password: str | None) -> int:
    """CONNECT by hand, so that 3.1.1's return code is seen as sent; returns it."""
    flags = 0x02 | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    body = mstr("MQTT") + bytes([version, flags]) + (60).to_bytes(2, "big")
    if version == V5:
        body += encode_props(None)
    body += mstr(unique("raw").replace("/", "-"))
    if username is not None:
        body += mstr(username)
    if password is not None:
        body += mstr(password)
    r = RawClient(broker.host, broker.port)
    try:
        r.send(packet(CONNECT, 0, body))
        return r.read_packet().reason()
    finally:
        r.close()


@pytest.mark.parametrize("version", VERSIONS, ids=mqtt_version_ids)
def test_device_publishes_under_its_own_topic(auth_broker, version):
    watcher = admin(auth_broker)
    watcher.subscribe("devices/dev-a/#", qos=1)
    dev = client(auth_broker, "dev-a", auth_broker.tokens["dev-a"], version)
    try:
        assert dev.connack_rc == 0
        rc = dev.publish("devices/dev-a/telemetry", b'{"values": {"t": 1}}', qos=1)
        assert getattr(rc, "value", rc) in (0, None)
        m = watcher.expect_message()
        assert (m.topic, m.payload) == ("devices/dev-a/telemetry", b'{"values": {"t": 1}}')
        # A device may subscribe within its own subtree and receive its commands.
        assert dev.subscribe("devices/dev-a/commands/#", qos=1) == [1]
        watcher.publish("devices/dev-a/commands/stop", b"now", qos=1)
        assert dev.expect_message().topic == "devices/dev-a/commands/stop"
    finally:
        dev.close()
        watcher.close()


def test_mosquitto_pub_with_device_credentials(auth_broker):
    watcher = admin(auth_broker)
    watcher.subscribe("devices/dev-b/#", qos=1)
    try:
        res = mosquitto_pub(auth_broker, "devices/dev-b/state", '{"mode": "ok"}', qos=1,
                            extra=["-u", "dev-b", "-P", auth_broker.tokens["dev-b"]])
        assert res.returncode == 0, res.stderr
        assert watcher.expect_message().payload == b'{"mode": "ok"}'
        bad = mosquitto_pub(auth_broker, "devices/dev-b/state", "x", qos=1, extra=["-u", "dev-b", "-P", "nope"])
        assert bad.returncode != 0
    finally:
        watcher.close()


@pytest.mark.parametrize("version,expected", [(V5, 0x86), (V311, 4)], ids=["v5", "v311"])
def test_wrong_token_is_bad_username_or_password(auth_broker, version, expected):
    assert raw_connect(auth_broker, version, "dev-a", "rfx_dev_wrong") == expected
    assert raw_connect(auth_broker, version, "dev-a", auth_broker.tokens["dev-b"]) == expected


@pytest.mark.parametrize("version,expected", [(V5, 0x86), (V311, 4)], ids=["v5", "v311"])
def test_unknown_device_is_refused(auth_broker, version, expected):
    assert raw_connect(auth_broker, version, "ghost", auth_broker.tokens["dev-a"]) == expected


@pytest.mark.parametrize("version,expected", [(V5, 0x87), (V311, 5)], ids=["v5", "v311"])
def test_anonymous_is_refused_when_not_allowed(auth_broker, version, expected):
    assert raw_connect(auth_broker, version, None, None) == expected
    c = client(auth_broker, None, None, version)
    assert c.connack_rc != 0
    c.close()


@pytest.mark.parametrize("version,expected", [(V5, 0x87), (V311, 5)], ids=["v5", "v311"])
def test_disabled_device_is_refused(auth_broker, version, expected):
    assert raw_connect(auth_broker, version, "dev-off", auth_broker.tokens["dev-off"]) == expected


def test_publish_to_another_devices_topic_is_not_authorized_and_not_delivered(auth_broker):
    watcher = admin(auth_broker)
    watcher.subscribe("devices/dev-b/#", qos=1)
    dev = client(auth_broker, "dev-a", auth_broker.tokens["dev-a"], V5)
    try:
        rc = dev.publish("devices/dev-b/telemetry", b"spoof", qos=1)
        assert rc.value == 0x87
        watcher.expect_no_message(1.0)
        assert dev.connected  # refused, not disconnected
    finally:
        dev.close()
        watcher.close()


@pytest.mark.parametrize("filt", ["devices/#", "devices/+/telemetry", "#", "$SYS/#", "devices/dev-b/#"])
def test_subscribing_outside_own_subtree_is_not_authorized(auth_broker, filt):
    dev = client(auth_broker, "dev-a", auth_broker.tokens["dev-a"], V5)
    try:
        assert dev.subscribe(filt, qos=1) == [0x87]
        assert dev.subscribe("devices/dev-a/#", qos=1) == [1]
    finally:
        dev.close()


def test_admin_operator_token_may_subscribe_anywhere(auth_broker):
    watcher = admin(auth_broker)
    try:
        assert watcher.subscribe("#", qos=0) == [0]
        assert watcher.subscribe("devices/#", qos=1) == [1]
    finally:
        watcher.close()


def test_device_added_while_running_connects_without_restart(auth_broker):
    token = add_device(auth_broker.data_dir, "dev-late")
    dev = client(auth_broker, "dev-late", token, V5)
    assert dev.connack_rc == 0
    dev.close()


def test_rotated_token_old_refused_new_accepted(auth_broker):
    old = auth_broker.tokens["dev-rot"]
    first = client(auth_broker, "dev-rot", old, V5)
    assert first.connack_rc == 0  # the server has now cached the old token
    first.close()
    out = cli(auth_broker.data_dir, "device", "rotate-token", "dev-rot")
    new = TOKEN.search(out).group(0)
    assert new != old
    c = client(auth_broker, "dev-rot", new, V5)
    assert c.connack_rc == 0
    c.close()
    assert raw_connect(auth_broker, V5, "dev-rot", old) == 0x86


def test_disable_while_running_takes_effect(auth_broker):
    """`reflex device disable` in another process: the open connection is closed within a second
    (DISCONNECT 0x87), and the next CONNECT is refused at once (the registry's caches notice
    another process's commit on the next check; there is no grace period)."""
    token = add_device(auth_broker.data_dir, "dev-later-off")
    c = client(auth_broker, "dev-later-off", token, V5)
    assert c.connack_rc == 0
    try:
        cli(auth_broker.data_dir, "device", "disable", "dev-later-off")
        changed = time.monotonic()
        assert raw_connect(auth_broker, V5, "dev-later-off", token) == 0x87
        while not c.disconnects:
            assert time.monotonic() - changed < 1.0, "the disabled device's open connection outlived 1 s"
            time.sleep(0.02)
        assert int(getattr(c.disconnects[0], "value", c.disconnects[0])) == 0x87, c.disconnects
    finally:
        c.close()
    cli(auth_broker.data_dir, "device", "enable", "dev-later-off")
    assert raw_connect(auth_broker, V5, "dev-later-off", token) == 0


def cpu_seconds(broker) -> float:
    """The node's user + system CPU time so far (/proc/<pid>/stat, in clock ticks)."""
    fields = Path(f"/proc/{broker.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_an_unauthenticated_flood_is_answered_from_the_caches_and_they_follow_other_processes(auth_broker):
    """Issue 12 (low): 500 CONNECTs naming one unknown device and 500 with wrong operator tokens (with
    40 operator tokens stored) are all refused and the node keeps serving; then the unknown device is
    added by another process and connects at once, so its cached absence did not outlive the change.

    What the caches save (one row read per unknown id, one hash per candidate token) is counted by
    RegistryCacheTests with the registry's read and hash counters; the CPU time per refusal is
    printed here, not asserted (a timing, which belongs to benchmarks)."""
    for n in range(40):
        cli(auth_broker.data_dir, "token", "create", "--role", "viewer", "--name", f"flood-{n}")
    started = cpu_seconds(auth_broker)
    for _ in range(500):
        assert raw_connect(auth_broker, V5, "dev-ghost", "rfx_dev_not-a-real-token") == 0x86
    for n in range(500):
        assert raw_connect(auth_broker, V5, "operator:flood", f"rfx_op_wrong-{n}") == 0x86
    spent = cpu_seconds(auth_broker) - started
    print(f"1,000 refused CONNECTs cost the node {spent * 1000:.0f} ms of CPU ({spent * 1e6 / 1000:.0f} us each)")
    admin(auth_broker).close()  # asserts CONNACK 0: the node still serves
    token = add_device(auth_broker.data_dir, "dev-ghost")  # another process
    assert raw_connect(auth_broker, V5, "dev-ghost", token) == 0


def test_no_token_in_logs_and_no_new_admin_token_after_restart(auth_broker):
    auth_broker.restart()
    # A device served after the restart: the node has finished starting (and would have printed
    # a new admin token by now) before its output is read.
    c = client(auth_broker, "dev-a", auth_broker.tokens["dev-a"], V5)
    assert c.connack_rc == 0
    c.close()
    stdout = (auth_broker.workdir / f"broker-{auth_broker.starts}.stdout")
    assert "rfx_op_" not in stdout.read_text()
    logs = "".join((auth_broker.workdir / f"broker-{n}.stderr").read_text() for n in range(1, auth_broker.starts + 1))
    assert "rfx_dev_" not in logs and "rfx_op_" not in logs
