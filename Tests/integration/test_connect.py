"""CONNECT / CONNACK with paho, mosquitto clients and raw sockets."""

import pytest

from helpers import (CONNACK, V311, V5, MosquittoSub, RawClient, connect_packet, mosquitto_pub, mqtt_version_ids,
                     unique)


@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_paho_connects(clients, version):
    c = clients(unique("cid").replace("/", "-"), version)
    assert c.connack_rc == 0
    assert c.session_present is False
    c.disconnect()
    assert c.connected is False


@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_mosquitto_clients_connect(broker, clients, topic, version):
    sub = MosquittoSub(broker, f"{topic}/x", count=1, wait=5, version=version).wait_subscribed()
    r = mosquitto_pub(broker, f"{topic}/x", "hello", version=version)
    assert r.returncode == 0, r.stderr
    rc, msgs = sub.result()
    assert rc == 0, sub.all_lines
    assert msgs == [(f"{topic}/x", 0, 0, "hello")]


def test_v5_empty_client_id_gets_assigned_identifier(clients):
    a = clients("", V5)
    b = clients("", V5)
    ida = getattr(a.connack_props, "AssignedClientIdentifier", None)
    idb = getattr(b.connack_props, "AssignedClientIdentifier", None)
    assert ida, "v5 CONNACK for an empty client id must carry an Assigned Client Identifier [MQTT-3.2.2-16]"
    assert idb and idb != ida


def test_v311_empty_client_id_clean_session_0_is_rejected(broker):
    raw = RawClient(broker.host, broker.port)
    try:
        p = raw.connect("", V311, clean=False)
        assert p.body == b"\x00\x02", f"expected CONNACK 0x02 (identifier rejected), got {p.body!r}"
        raw.expect_closed(3)
    finally:
        raw.close()


def test_v311_empty_client_id_clean_session_1_is_accepted(broker):
    raw = RawClient(broker.host, broker.port)
    try:
        p = raw.connect("", V311, clean=True)
        assert p.body == b"\x00\x00"
    finally:
        raw.close()


def test_unsupported_protocol_level_is_refused(broker):
    raw = RawClient(broker.host, broker.port)
    try:
        pkt = bytearray(connect_packet("badlevel", V311))
        pkt[8] = 7  # protocol level byte after fixed header(2) + "MQTT"(6)
        raw.send(bytes(pkt))
        got = raw.expect_closed(3)
        connacks = [p for p in got if p.type == CONNACK]
        assert all(p.reason() in (0x01, 0x84) for p in connacks), got
        assert len(got) == len(connacks), f"only a refusing CONNACK may precede the close: {got}"
    finally:
        raw.close()
