"""$SYS topics (the fixture runs the broker with a 1 s $SYS interval) and wildcard isolation from them."""

import re
import time

import pytest

from conftest import REPO_ROOT
from helpers import V311, V5, mqtt_version_ids

STANDARD = ["$SYS/broker/version", "$SYS/broker/uptime", "$SYS/broker/clients/connected"]


def collect(client, seconds: float) -> dict[str, list]:
    out: dict[str, list] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            m = client.expect_message(max(0.01, deadline - time.monotonic()))
        except AssertionError:
            break
        out.setdefault(m.topic, []).append(m)
    return out


def test_sys_broker_stats_are_published(clients):
    c = clients("", V5)
    c.subscribe("$SYS/#", 0)
    seen = collect(c, 2.6)  # more than two 1 s intervals: the retained snapshot and fresh values
    missing = [t for t in STANDARD if t not in seen]
    assert not missing, f"missing {missing}; got {sorted(seen)}"
    connected = int(re.findall(rb"\d+", seen["$SYS/broker/clients/connected"][-1].payload)[0])
    assert connected >= 1
    assert re.search(rb"\d", seen["$SYS/broker/uptime"][-1].payload)


@pytest.mark.reflex_only
def test_reflex_sys_version_and_uptime_interval(clients):
    src = (REPO_ROOT / "Sources/ReflexCore/ReflexVersion.swift").read_text()
    version = re.search(r'current\s*=\s*"([^"]+)"', src).group(1)
    c = clients("", V5)
    c.subscribe("$SYS/broker/version", 0)
    m = c.expect_message(3)
    assert version.encode() in m.payload, f"$SYS/broker/version {m.payload!r} should name {version}"
    c.subscribe("$SYS/broker/uptime", 0)
    got = collect(c, 2.6).get("$SYS/broker/uptime", [])
    values = {x.payload for x in got}
    assert len(values) >= 2, f"uptime should be refreshed every second (REFLEX_MQTT_SYS_INTERVAL=1): {values}"


@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_wildcard_subscribers_do_not_receive_sys(clients, version):
    c = clients("", version) if version == V5 else clients("wild-sys", version)
    c.subscribe("#", 0)
    c.subscribe("+/broker/#", 0)
    c.subscribe("+/+/uptime", 0)
    got = collect(c, 2.5)
    leaked = [t for t in got if t.startswith("$")]
    assert not leaked, f"'#' / '+' must not match topics starting with $ [MQTT-4.7.2-1]: {leaked}"
