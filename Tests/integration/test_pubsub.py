"""PUBLISH -> subscriber at every QoS, in both protocol versions and across them."""

import pytest

from helpers import V311, V5, MosquittoSub, mosquitto_pub, mqtt_version_ids

VERSION_PAIRS = [(V311, V311), (V5, V5), (V311, V5), (V5, V311)]


def pair_id(p):
    return f"{mqtt_version_ids(p[0])}-to-{mqtt_version_ids(p[1])}"


@pytest.mark.parametrize("versions", VERSION_PAIRS, ids=pair_id)
@pytest.mark.parametrize("pub_qos", [0, 1, 2], ids=lambda q: f"pub{q}")
@pytest.mark.parametrize("sub_qos", [0, 1, 2], ids=lambda q: f"sub{q}")
def test_qos_delivery_is_min_of_publish_and_subscription(clients, topic, versions, pub_qos, sub_qos):
    pv, sv = versions
    sub = clients(f"s-{topic[-12:]}", sv)
    assert sub.subscribe(f"{topic}/t", sub_qos) == [sub_qos], "SUBACK must grant the requested QoS"
    pub = clients(f"p-{topic[-12:]}", pv)
    rc = pub.publish(f"{topic}/t", b"payload-\x00\xff", qos=pub_qos)
    if pub_qos and pv == V5:
        assert rc.value == 0, f"PUBACK/PUBREC reason {rc}"
    m = sub.expect_message(3)
    assert (m.topic, m.payload, m.qos, m.retain) == (f"{topic}/t", b"payload-\x00\xff", min(pub_qos, sub_qos), False)
    sub.expect_no_message(0.2)  # exactly once, also for QoS 2


@pytest.mark.parametrize("qos", [0, 1, 2])
@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_order_within_topic_is_preserved(clients, topic, qos, version):
    sub = clients("", version) if version == V5 else clients(f"s-{topic[-12:]}", version)
    sub.subscribe(f"{topic}/seq", qos)
    pub = clients(f"p-{topic[-12:]}", version)
    n = 200
    for i in range(n):
        pub.publish(f"{topic}/seq", str(i).encode(), qos=qos, wait=False)
    got = [int(m.payload) for m in sub.expect_messages(n, timeout=10)]
    assert got == list(range(n))
    sub.expect_no_message(0.3)


def test_wildcards_match_per_spec(clients, topic):
    sub = clients("", V5)
    sub.subscribe(f"{topic}/a/+/c", 1)
    sub.subscribe(f"{topic}/sport/#", 1)
    pub = clients("", V5)
    for t in ["a/b/c", "a/b/d", "a/b/c/d", "a//c", "sport", "sport/x/y", "sports"]:
        pub.publish(f"{topic}/{t}", t, qos=1)
    got = sorted(m.payload.decode() for m in sub.expect_messages(4))
    sub.expect_no_message(0.3)  # and nothing else matched
    # "sport/#" also matches the parent level "sport" [MQTT-4.7.1-2]; "+" matches an empty level.
    assert got == sorted(["a/b/c", "a//c", "sport", "sport/x/y"])


def test_unsubscribe_stops_delivery(clients, topic):
    sub = clients("", V5)
    sub.subscribe(f"{topic}/u", 1)
    pub = clients("", V5)
    pub.publish(f"{topic}/u", "1", qos=1)
    assert sub.expect_message().payload == b"1"
    sub.unsubscribe(f"{topic}/u")
    pub.publish(f"{topic}/u", "2", qos=1)
    sub.expect_no_message(0.5)


@pytest.mark.parametrize("qos", [0, 1, 2])
@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_mosquitto_pub_to_paho_sub(broker, clients, topic, version, qos):
    sub = clients("", V5)
    sub.subscribe(f"{topic}/cli", 2)
    r = mosquitto_pub(broker, f"{topic}/cli", "from-cli", qos=qos, version=version)
    assert r.returncode == 0, r.stderr
    m = sub.expect_message(3)
    assert (m.payload, m.qos) == (b"from-cli", qos)


@pytest.mark.parametrize("qos", [0, 1, 2])
@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_paho_pub_to_mosquitto_sub(broker, clients, topic, version, qos):
    sub = MosquittoSub(broker, f"{topic}/cli", count=3, wait=5, qos=qos, version=version).wait_subscribed()
    pub = clients("", V5)
    for i in range(3):
        pub.publish(f"{topic}/cli", f"m{i}", qos=2)
    rc, msgs = sub.result()
    assert rc == 0, sub.all_lines
    assert msgs == [(f"{topic}/cli", qos, 0, f"m{i}") for i in range(3)]
