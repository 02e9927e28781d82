"""Retained messages: set / replace / delete, retain flag on delivery, v5 Retain Handling and RAP."""

import pytest

from helpers import V311, V5, MosquittoSub, mosquitto_pub, mqtt_version_ids


@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_retained_set_replace_delete(clients, topic, version):
    t = f"{topic}/r"
    pub = clients("", V5) if version == V5 else clients(f"p{topic[-12:]}", version)
    pub.publish(t, "first", qos=1, retain=True)

    s1 = clients(f"s1{topic[-12:]}", version)
    s1.subscribe(t, 1)
    m = s1.expect_message()
    assert (m.payload, m.retain, m.qos) == (b"first", True, 1)
    s1.expect_no_message(0.2)

    pub.publish(t, "second", qos=1, retain=True)
    live = s1.expect_message()
    assert live.payload == b"second"
    assert live.retain is False, "a message matching an established subscription is sent with RETAIN 0"

    s2 = clients(f"s2{topic[-12:]}", version)
    s2.subscribe(t, 1)
    m = s2.expect_message()
    assert (m.payload, m.retain) == (b"second", True), "the retained message must be replaced"
    s2.expect_no_message(0.2)

    pub.publish(t, b"", qos=1, retain=True)  # delete
    gone = s1.expect_message()
    assert gone.payload == b"", "the deleting zero-length publish is delivered to existing subscribers"

    s3 = clients(f"s3{topic[-12:]}", version)
    s3.subscribe(t, 1)
    s3.expect_no_message(0.5)


def test_retained_through_wildcard_and_qos_downgrade(clients, topic):
    pub = clients("", V5)
    for i in range(3):
        pub.publish(f"{topic}/w/{i}", f"v{i}", qos=2, retain=True)
    pub.publish(f"{topic}/other", "no", qos=1, retain=True)
    sub = clients("", V5)
    sub.subscribe(f"{topic}/w/+", 1)
    got = sorted((m.topic, m.payload, m.qos, m.retain) for m in sub.expect_messages(3))
    assert got == [(f"{topic}/w/{i}", f"v{i}".encode(), 1, True) for i in range(3)]
    sub.expect_no_message(0.3)


def test_mosquitto_cli_retained(broker, topic):
    r = mosquitto_pub(broker, f"{topic}/cli", "kept", qos=1, retain=True, version=V311)
    assert r.returncode == 0, r.stderr
    sub = MosquittoSub(broker, f"{topic}/cli", count=1, wait=4, qos=1, version=V5).wait_subscribed()
    rc, msgs = sub.result()
    assert rc == 0 and msgs == [(f"{topic}/cli", 1, 1, "kept")], sub.all_lines


@pytest.mark.parametrize("rh", [0, 1, 2])
def test_v5_retain_handling(clients, topic, rh):
    t = f"{topic}/rh"
    clients("", V5).publish(t, "kept", qos=1, retain=True)
    sub = clients("", V5)
    sub.subscribe(t, 1, rh=rh)
    if rh == 2:
        sub.expect_no_message(0.5)
    else:
        m = sub.expect_message()
        assert (m.payload, m.retain) == (b"kept", True)
    # subscribing again to an existing subscription
    sub.subscribe(t, 1, rh=rh)
    if rh == 0:
        m = sub.expect_message()
        assert (m.payload, m.retain) == (b"kept", True), "RH 0: retained messages are sent at every subscribe"
    else:
        sub.expect_no_message(0.5)


@pytest.mark.parametrize("rap", [False, True], ids=["rap0", "rap1"])
def test_v5_retain_as_published(clients, topic, rap):
    t = f"{topic}/rap"
    sub = clients("", V5)
    sub.subscribe(t, 1, rap=rap)
    pub = clients("", V5)
    pub.publish(t, "live-retained", qos=1, retain=True)
    pub.publish(t, "live-plain", qos=1, retain=False)
    a, b = sub.expect_messages(2)
    assert (a.payload, a.retain) == (b"live-retained", rap)
    assert (b.payload, b.retain) == (b"live-plain", False)
