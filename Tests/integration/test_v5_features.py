"""MQTT 5.0 features: topic aliases, No Local, Subscription Identifiers, Message Expiry, property
pass-through, Payload Format Indicator, client Maximum Packet Size."""

import time

import pytest

from helpers import (CONNACK, DISCONNECT, PUBACK, V5, RawClient, publish_packet)

PROTOCOL_ERRORS = {0x81, 0x82, 0x94}  # malformed packet, protocol error, topic alias invalid


def raw_v5(broker, name="", props=None) -> tuple[RawClient, dict]:
    from helpers import decode_props

    raw = RawClient(broker.host, broker.port)
    ack = raw.connect(name, V5, props=props)
    assert ack.reason() == 0, ack
    cprops, _ = decode_props(ack.body, 2)
    return raw, cprops


def test_connack_announces_limits(broker):
    raw, cprops = raw_v5(broker)
    try:
        assert cprops.get(0x27) == 1_048_576, f"Maximum Packet Size in CONNACK: {cprops}"
        assert cprops.get(0x22, 0) >= 1, f"Topic Alias Maximum in CONNACK: {cprops}"
    finally:
        raw.close()


def test_topic_alias_from_client(broker, clients, topic):
    sub = clients("", V5)
    sub.subscribe(f"{topic}/alias", 1)
    other = clients("", V5)
    other.subscribe(f"{topic}/other", 1)
    raw, cprops = raw_v5(broker)
    try:
        raw.send(publish_packet(f"{topic}/alias", b"with-topic", 1, pid=1, props=[(0x23, 1)]))
        assert raw.expect(PUBACK).reason() == 0
        raw.send(publish_packet("", b"alias-only", 1, pid=2, props=[(0x23, 1)]))
        assert raw.expect(PUBACK).reason() == 0
        # re-map alias 1 to another topic: alias-only publishes now go there
        raw.send(publish_packet(f"{topic}/other", b"remapped", 0, props=[(0x23, 1)]))
        raw.send(publish_packet("", b"alias-again", 1, pid=3, props=[(0x23, 1)]))
        ack = raw.expect(PUBACK)
        assert ack.body[:2] == b"\x00\x03" and ack.reason() == 0, f"PUBACK for pid 3: {ack}"
    finally:
        raw.close()
    got = [(m.topic, m.payload) for m in sub.expect_messages(2)]
    assert got == [(f"{topic}/alias", b"with-topic"), (f"{topic}/alias", b"alias-only")]
    remapped = [(m.topic, m.payload) for m in other.expect_messages(2)]
    assert remapped == [(f"{topic}/other", b"remapped"), (f"{topic}/other", b"alias-again")]
    sub.expect_no_message(0.3)  # nothing after the remap reached the old topic


@pytest.mark.parametrize("case", ["unknown-alias", "alias-over-maximum", "alias-zero"])
def test_invalid_topic_alias_closes_connection(broker, clients, topic, case):
    raw, cprops = raw_v5(broker)
    maximum = cprops.get(0x22, 0)
    try:
        if case == "unknown-alias":
            pkt = publish_packet("", b"x", 0, props=[(0x23, 1)])
        elif case == "alias-over-maximum":
            pkt = publish_packet(f"{topic}/a", b"x", 0, props=[(0x23, maximum + 1)])
        else:
            pkt = publish_packet(f"{topic}/a", b"x", 0, props=[(0x23, 0)])
        raw.send(pkt)
        got = raw.expect_closed(3)
        assert all(p.type == DISCONNECT and p.reason() in PROTOCOL_ERRORS for p in got), got
    finally:
        raw.close()


def test_no_local(clients, topic):
    me = clients("", V5)
    me.subscribe(f"{topic}/nl", 1, no_local=True)
    me.publish(f"{topic}/nl", "mine", qos=1)
    me.expect_no_message(0.5)
    clients("", V5).publish(f"{topic}/nl", "theirs", qos=1)
    assert me.expect_message().payload == b"theirs"
    # without No Local the own message comes back
    other = clients("", V5)
    other.subscribe(f"{topic}/l", 1, no_local=False)
    other.publish(f"{topic}/l", "echo", qos=1)
    assert other.expect_message().payload == b"echo"


def test_subscription_identifiers(clients, topic):
    sub = clients("", V5)
    sub.subscribe(f"{topic}/a/#", 1, sub_id=7)
    sub.subscribe(f"{topic}/b", 1, sub_id=268_435_455)  # the largest identifier
    sub.subscribe(f"{topic}/c", 1)  # none
    pub = clients("", V5)
    pub.publish(f"{topic}/a/x", "a", qos=1)
    pub.publish(f"{topic}/b", "b", qos=1)
    pub.publish(f"{topic}/c", "c", qos=1)
    got = {m.payload: m.prop("SubscriptionIdentifier") for m in sub.expect_messages(3)}
    assert got[b"a"] == [7]
    assert got[b"b"] == [268_435_455]
    assert not got[b"c"], "no identifier for a subscription made without one"


def test_subscription_identifiers_of_overlapping_subscriptions(clients, topic):
    sub = clients("", V5)
    sub.subscribe(f"{topic}/o/#", 1, sub_id=1)
    sub.subscribe(f"{topic}/o/+", 1, sub_id=2)
    clients("", V5).publish(f"{topic}/o/x", "both", qos=1)
    msgs = [sub.expect_message(timeout=3)]
    if sorted(msgs[0].prop("SubscriptionIdentifier") or []) != [1, 2]:
        msgs.append(sub.expect_message(timeout=3))  # one copy per subscription: the second must come
    sub.expect_no_message(0.3)
    ids = sorted(i for m in msgs for i in (m.prop("SubscriptionIdentifier") or []))
    # one copy with both identifiers, or one copy per subscription [MQTT-3.3.4-3..5]
    assert ids == [1, 2], [(m.payload, m.prop("SubscriptionIdentifier")) for m in msgs]


def test_message_expiry_while_subscriber_offline(clients, topic):
    name = f"mx-{topic[-12:]}"
    s = clients(name, V5, clean=False, session_expiry=300)
    s.subscribe(f"{topic}/e", 1)
    s.disconnect()
    pub = clients("", V5)
    pub.publish(f"{topic}/e", "short-lived", qos=1, MessageExpiryInterval=1)
    pub.publish(f"{topic}/e", "long-lived", qos=1, MessageExpiryInterval=60)
    pub.publish(f"{topic}/e", "immortal", qos=1)
    time.sleep(2.2)
    s2 = clients(name, V5, clean=False, session_expiry=300)
    assert s2.session_present
    msgs = s2.expect_messages(2)
    s2.expect_no_message(0.3)
    assert [m.payload for m in msgs] == [b"long-lived", b"immortal"], "the expired message must not be delivered"
    remaining = msgs[0].prop("MessageExpiryInterval")
    assert remaining is not None, "the forwarded message keeps a Message Expiry Interval"
    assert remaining <= 58, f"expiry must be decremented by the ~2 s spent waiting, got {remaining}"
    assert msgs[1].prop("MessageExpiryInterval") is None


def test_retained_message_expires(clients, topic):
    published = time.monotonic()
    clients("", V5).publish(f"{topic}/re", "gone-soon", qos=1, retain=True, MessageExpiryInterval=2)
    before = clients("", V5)
    before.subscribe(f"{topic}/re", 1)
    m = before.expect_message(timeout=1.5)  # still retained inside its expiry interval
    assert (m.payload, m.retain) == (b"gone-soon", True)
    assert time.monotonic() - published < 2, "the positive check must run before the expiry"
    time.sleep(max(0.0, published + 3.2 - time.monotonic()))  # the expiry passes (the point of the test)
    after = clients("", V5)
    after.subscribe(f"{topic}/re", 1)
    after.expect_no_message(0.5)


def test_properties_passed_through_unchanged(clients, topic):
    sub = clients("", V5)
    sub.subscribe(f"{topic}/p", 2)
    user = [("k1", "v1"), ("k1", "v1-again"), ("ключ", "значение ✓"), ("empty", "")]
    clients("", V5).publish(f"{topic}/p", b'{"x":1}', qos=2, UserProperty=user, ContentType="application/json",
                            ResponseTopic=f"{topic}/reply", CorrelationData=b"\x00\x01corr\xff",
                            PayloadFormatIndicator=1)
    m = sub.expect_message()
    assert m.payload == b'{"x":1}'
    assert m.prop("UserProperty") == user, "user properties: all pairs, in order [MQTT-3.3.2-18]"
    assert m.prop("ContentType") == "application/json"
    assert m.prop("ResponseTopic") == f"{topic}/reply"
    assert m.prop("CorrelationData") == b"\x00\x01corr\xff"
    assert m.prop("PayloadFormatIndicator") == 1


def test_request_response_round_trip(clients, topic):
    responder = clients("", V5)
    responder.subscribe(f"{topic}/req", 1)
    requester = clients("", V5)
    requester.subscribe(f"{topic}/resp", 1)
    requester.publish(f"{topic}/req", "ping", qos=1, ResponseTopic=f"{topic}/resp", CorrelationData=b"id-42")
    req = responder.expect_message()
    responder.publish(req.prop("ResponseTopic"), "pong", qos=1, CorrelationData=req.prop("CorrelationData"))
    resp = requester.expect_message()
    assert (resp.payload, resp.prop("CorrelationData")) == (b"pong", b"id-42")


BAD_UTF8 = b"\xff\xfe not utf-8 \xc3\x28"


def send_invalid_pfi_payload(broker, topic):
    """Publishes QoS 1 with PFI=1 and a payload that is not UTF-8; returns the answer or None if closed."""
    from helpers import Closed

    raw, _ = raw_v5(broker)
    try:
        raw.send(publish_packet(f"{topic}/pfi", BAD_UTF8, 1, pid=9, props=[(0x01, 1)]))
        try:
            return raw.read_packet(3)
        except Closed:
            return None
    finally:
        raw.close()


def test_invalid_utf8_with_payload_format_indicator_per_spec(broker, clients, topic):
    """The receiver MAY validate the payload format (section 3.3.2.3.2). Either it rejects with PUBACK or
    DISCONNECT 0x99 (payload format invalid) and does not forward the message, or it accepts it and
    forwards the Payload Format Indicator unaltered [MQTT-3.3.2-4]."""
    sub = clients("", V5)
    sub.subscribe(f"{topic}/pfi", 1)
    answer = send_invalid_pfi_payload(broker, topic)
    if answer is not None and answer.type == PUBACK and answer.reason() == 0:
        m = sub.expect_message()
        assert (m.payload, m.prop("PayloadFormatIndicator")) == (BAD_UTF8, 1)
    else:
        assert answer is None or (answer.type, answer.reason()) in ((PUBACK, 0x99), (DISCONNECT, 0x99)), answer
        sub.expect_no_message(0.5)
    # valid UTF-8 with PFI=1 always passes
    clients("", V5).publish(f"{topic}/pfi", "grüße".encode(), qos=1, PayloadFormatIndicator=1)
    m = sub.expect_message()
    assert (m.payload, m.prop("PayloadFormatIndicator")) == ("grüße".encode(), 1)


@pytest.mark.reflex_only
def test_reflex_rejects_invalid_utf8_with_payload_format_indicator(broker, clients, topic):
    """Reflex validates: PUBACK 0x99 (or DISCONNECT 0x99) and the message is not forwarded."""
    sub = clients("", V5)
    sub.subscribe(f"{topic}/pfi", 1)
    answer = send_invalid_pfi_payload(broker, topic)
    assert answer is not None and (answer.type, answer.reason()) in ((PUBACK, 0x99), (DISCONNECT, 0x99)), answer
    sub.expect_no_message(0.5)


def test_client_maximum_packet_size_respected(clients, topic):
    """The 2000-byte message is skipped for the client whose Maximum Packet Size is 512, and only for
    it. The 100-byte message published after it is the marker: had the big one been sent, it would
    have arrived before the marker (same publisher, same QoS: in order)."""
    small = clients("", V5, connect_props=dict(MaximumPacketSize=512))
    small.subscribe(f"{topic}/big", 1)
    big = clients("", V5)
    big.subscribe(f"{topic}/big", 1)
    pub = clients("", V5)
    pub.publish(f"{topic}/big", b"a" * 100, qos=1)
    pub.publish(f"{topic}/big", b"b" * 2000, qos=1)
    pub.publish(f"{topic}/big", b"c" * 100, qos=1)
    got = [m.payload[:1] for m in small.expect_messages(2)]
    assert got == [b"a", b"c"], "packets larger than the client's Maximum Packet Size are discarded [MQTT-3.1.2-25]"
    small.expect_no_message(0.2)  # nor sent late, after the marker
    assert small.connected, "the small client stays connected"
    assert [m.payload[:1] for m in big.expect_messages(3)] == [b"a", b"b", b"c"]
