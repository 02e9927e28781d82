"""Acknowledged QoS 1/2 broker state survives kill -9 (issue 19, "A promise that does not hold").

A PUBACK (QoS 1) or PUBREC (QoS 2) means: the message is stored for every persistent session it
was routed to (offline or online), and a retained message is stored, before the acknowledgement
leaves (docs/mqtt.md, "Durability: what an acknowledgement means"). So after a SIGKILL and a
restart, every acknowledged message reaches the persistent subscriber when it reconnects, and
every acknowledged retained message reaches a new subscriber. Messages that were not
acknowledged may or may not arrive (the publisher sends them again).
"""

import random
import threading
import time
from collections import Counter

import pytest

from helpers import (PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, V311, V5, Closed, RawClient, mqtt_version_ids,
                     packet, publish_packet, subscribe_packet)
from test_sessions import fresh_persistent, name_for, persistent

pytestmark = [
    pytest.mark.restart,
    pytest.mark.mosquitto_xfail(reason="writes its persistence file every autosave_interval (1 s in this suite, "
                                       "1800 s by default), not before the PUBACK"),
]


def payloads(messages):
    return [m.payload.decode() for m in messages]


def collect_until(client, wanted: set[str], timeout: float = 10.0) -> list[str]:
    """Messages received until every one of `wanted` is there or the deadline passes."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while not wanted.issubset(got) and time.monotonic() < deadline:
        try:
            got.append(client.messages.get(timeout=max(0.01, deadline - time.monotonic())).payload.decode())
        except Exception:
            break
    return got


class Stream(threading.Thread):
    """Publishes QoS 1 messages one after another (each waits for its PUBACK) until the
    connection dies; `acked` holds the payloads whose PUBACK arrived with success."""

    def __init__(self, client, topic_for, retain: bool):
        super().__init__(daemon=True)
        self.client = client
        self.topic_for = topic_for
        self.retain = retain
        self.acked: list[tuple[str, str]] = []
        self.refused: list[str] = []
        self.sent = 0
        self.stopped_because = "still running"

    def run(self):
        i = 0
        while self.client.connected and i < 100_000:
            topic, payload = self.topic_for(i), f"m{i}"
            try:
                rc = self.client.publish(topic, payload, qos=1, retain=self.retain, timeout=10.0)
            except AssertionError as e:
                self.stopped_because = f"publish #{i}: {e}"  # the broker went away (or stalled)
                return
            self.sent += 1
            if rc is not None and not getattr(rc, "is_failure", False) and self.client.connected:
                self.acked.append((topic, payload))
            elif len(self.refused) < 10:
                self.refused.append(f"#{i}: {rc}")
            i += 1
        self.stopped_because = (f"disconnected after {i} publishes: {self.client.disconnects}"
                                if i < 100_000 else "published 100000")


def kill_during(broker, stream: Stream, minimum_acked: int = 20):
    """Starts `stream`, kills the broker with SIGKILL at a random moment once `minimum_acked`
    messages were acknowledged, waits for the stream to stop, restarts the broker."""
    stream.start()
    deadline = time.monotonic() + 20
    while len(stream.acked) < minimum_acked and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(stream.acked) >= minimum_acked, (
        f"only {len(stream.acked)} of {stream.sent} acknowledged before the kill; the stream stopped: "
        f"{stream.stopped_because}; refused: {stream.refused}.\nbroker stderr:\n{broker.stderr_text()[-3000:]}")
    delay = random.uniform(0.0, 0.5)
    print(f"kill -9 {delay:.3f} s after the {len(stream.acked)}th acknowledgement")
    time.sleep(delay)
    broker.kill9_restart()
    stream.join(10)
    assert not stream.is_alive()


@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_acknowledged_messages_and_retained_survive_kill9_0_3s_after_the_acks(broker, clients, topic, version):
    """The reproduction of issue 19: both messages were lost with a 5 s save interval."""
    name = name_for(topic, "k9")
    s = fresh_persistent(clients, name, version)
    s.subscribe(f"{topic}/q", 1)
    s.disconnect()
    p = clients("", V5)
    p.publish(f"{topic}/q", "queued-before-kill", qos=1)
    p.publish(f"{topic}/keep", "retained-before-kill", qos=1, retain=True)
    p.disconnect()
    time.sleep(0.3)

    broker.kill9_restart()

    s2 = persistent(clients, name, version)
    assert s2.session_present is True, "the session must survive kill -9"
    assert payloads(s2.expect_messages(1)) == ["queued-before-kill"]
    r = clients("", V5)
    r.subscribe(f"{topic}/keep", 1)
    m = r.expect_message()
    assert (m.payload, m.retain) == (b"retained-before-kill", True)


@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_every_acknowledged_message_to_an_offline_subscriber_survives_kill9(broker, clients, topic, version):
    name = name_for(topic, "k9s")
    s = fresh_persistent(clients, name, version)
    s.subscribe(f"{topic}/q", 1)
    s.disconnect()
    stream = Stream(clients("", version), lambda i: f"{topic}/q", retain=False)

    kill_during(broker, stream)

    acked = [payload for _, payload in stream.acked]
    s2 = persistent(clients, name, version)
    assert s2.session_present is True
    got = collect_until(s2, set(acked))
    missing = [m for m in acked if m not in got]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged messages lost by kill -9: {missing[:10]}"
    # In publish order (the store keeps the routing order); unacknowledged extras may follow.
    assert [m for m in got if m in set(acked)][: len(acked)] == acked


@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_every_acknowledged_retained_message_survives_kill9(broker, clients, topic, version):
    stream = Stream(clients("", version), lambda i: f"{topic}/r/{i}", retain=True)

    kill_during(broker, stream)

    acked = {t: payload for t, payload in stream.acked}
    r = clients("", V5)
    r.subscribe(f"{topic}/r/#", 1)
    got = collect_until(r, set(acked.values()))
    missing = sorted(set(acked.values()) - set(got))
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged retained messages lost: {missing[:10]}"


def test_last_acknowledged_retained_value_of_one_topic_survives_kill9(broker, clients, topic):
    """Overwriting one retained topic: after the restart it holds the last acknowledged value or a
    later one (sent, not yet acknowledged), never an older one."""
    stream = Stream(clients("", V5), lambda i: f"{topic}/one", retain=True)

    kill_during(broker, stream)

    last = int(stream.acked[-1][1][1:])
    r = clients("", V5)
    r.subscribe(f"{topic}/one", 1)
    m = r.expect_message()
    assert m.retain and int(m.payload.decode()[1:]) >= last, (m.payload, last)


@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_unacknowledged_delivery_to_an_online_persistent_subscriber_survives_kill9(broker, clients, topic, version):
    """Online copies are durable too: the subscriber received the PUBLISH and had not acknowledged
    it when the node died; after the restart it gets it again, with DUP set."""
    name = name_for(topic, "k9o")
    props = [(0x11, 300)] if version == V5 else None
    if version == V311:
        clients(name, V311, clean=True).disconnect()
    raw = RawClient(broker.host, broker.port)
    assert raw.connect(name, version, clean=(version == V5), props=props).reason() == 0
    raw.send(subscribe_packet([(f"{topic}/q", 1)], pid=1, version=version))
    raw.expect(SUBACK)
    clients("", V5).publish(f"{topic}/q", "in-flight-at-kill", qos=1)
    f = raw.expect(PUBLISH).publish_fields(version)
    assert f["payload"] == b"in-flight-at-kill"

    broker.kill9_restart()  # no PUBACK was sent
    raw.close()

    raw2 = RawClient(broker.host, broker.port)
    try:
        ack = raw2.connect(name, version, clean=False, props=props)
        assert ack.body[0] & 1, "the session must survive kill -9"
        p2 = raw2.expect(PUBLISH, timeout=5)
        f2 = p2.publish_fields(version)
        assert f2["payload"] == b"in-flight-at-kill"
        assert p2.flags & 0x08, "a re-sent unacknowledged PUBLISH must have DUP=1 [MQTT-4.4.0-1]"
        raw2.send(bytes([PUBACK << 4, 2]) + f2["pid"].to_bytes(2, "big"))
    finally:
        raw2.close()


# ------------------------------------------------------------------------------------------------
# QoS 2: the durability point is the PUBREC
# ------------------------------------------------------------------------------------------------

SESSION_EXPIRY = 0x11


def raw_persistent(broker, name: str, version: int) -> tuple[RawClient, bool]:
    """A raw connection whose session outlives it (3.1.1 clean session 0; v5 clean start 0 and
    session expiry 300 s); returns it and the CONNACK's session present flag."""
    raw = RawClient(broker.host, broker.port)
    ack = raw.connect(name, version, clean=False, props=[(SESSION_EXPIRY, 300)] if version == V5 else None)
    assert ack.reason() == 0, f"CONNACK refused {name}: {ack}"
    return raw, bool(ack.body[0] & 1)


def pubrel_packet(pid: int) -> bytes:
    return packet(PUBREL, 0x02, pid.to_bytes(2, "big"))


class Qos2Stream(threading.Thread):
    """Publishes QoS 2 messages by hand over `raw`, one exchange at a time (PUBLISH, PUBREC,
    PUBREL, PUBCOMP), until the connection dies. paho reports a QoS 2 publish only at its PUBCOMP,
    so the PUBREC, which is what the broker acknowledges durably, is read off the socket here.

    `acked` holds (topic, payload) of every message whose PUBREC arrived with success (the shape
    `kill_during` reads); `sent` maps each packet id to its (topic, payload), and `pubrec` and
    `pubcomp` hold the packet ids whose PUBREC / PUBCOMP arrived, so that the publisher can finish
    its unfinished exchanges after a restart as MQTT requires."""

    def __init__(self, raw: RawClient, version: int, topic_for, retain: bool):
        super().__init__(daemon=True)
        self.raw = raw
        self.version = version
        self.topic_for = topic_for
        self.retain = retain
        self.acked: list[tuple[str, str]] = []
        self.refused: list[str] = []
        self.sent: dict[int, tuple[str, str]] = {}
        self.pubrec: set[int] = set()
        self.pubcomp: set[int] = set()
        self.stopped_because = "still running"

    def run(self):
        for pid in range(1, 60_000):
            topic, payload = self.topic_for(pid), f"m{pid}"
            if not self.raw.send(publish_packet(topic, payload.encode(), qos=2, retain=self.retain, pid=pid,
                                                version=self.version)):
                self.stopped_because = f"PUBLISH #{pid}: connection closed"
                return
            self.sent[pid] = (topic, payload)
            try:
                rec = self.raw.expect(PUBREC, timeout=10)
                if int.from_bytes(rec.body[:2], "big") != pid or rec.reason() >= 0x80:
                    self.refused.append(f"#{pid}: {rec}")
                    self.stopped_because = f"PUBREC #{pid} refused or for another packet id: {rec}"
                    return
                self.pubrec.add(pid)
                self.acked.append((topic, payload))
                if not self.raw.send(pubrel_packet(pid)):
                    self.stopped_because = f"PUBREL #{pid}: connection closed"
                    return
                self.raw.expect(PUBCOMP, timeout=10)
                self.pubcomp.add(pid)
            except (Closed, TimeoutError) as e:
                self.stopped_because = f"#{pid}: {type(e).__name__}"  # the broker went away (or stalled)
                return
        self.stopped_because = "published 60000"

    def finish_after_restart(self, raw: RawClient) -> None:
        """What a QoS 2 publisher does when it resumes its session: PUBLISH again (DUP=1, same
        packet id) what got no PUBREC, PUBREL again what got no PUBCOMP [MQTT-4.4.0-1]."""
        for pid, (topic, payload) in sorted(self.sent.items()):
            if pid in self.pubcomp:
                continue
            if pid not in self.pubrec:
                raw.send(publish_packet(topic, payload.encode(), qos=2, retain=self.retain, pid=pid,
                                        version=self.version, dup=True))
                rec = raw.expect(PUBREC, timeout=5)
                assert rec.reason() < 0x80, f"resent #{pid} refused: {rec}"
                self.pubrec.add(pid)
            raw.send(pubrel_packet(pid))
            raw.expect(PUBCOMP, timeout=5)
            self.pubcomp.add(pid)


@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_every_qos2_message_whose_pubrec_arrived_survives_kill9_exactly_once(broker, clients, topic, version):
    """QoS 2 from a persistent publisher to an offline persistent subscriber (QoS 2), SIGKILL at a
    random moment. What docs/mqtt.md promises, and what is asserted:

    * every message whose PUBREC arrived reaches the subscriber after the restart (a PUBREC, like
      a PUBACK, leaves only once the copy for the persistent session is stored), in publish order;
    * exactly once: the publisher's incoming QoS 2 packet ids are stored with the copies, so the
      message whose PUBREC the kill swallowed (stored, PUBREC lost) is not routed again when the
      publisher resends it with DUP after the restart; the subscriber was offline, so nothing of
      the outgoing side had been acknowledged either. Every message the publisher sent arrives,
      none twice."""
    name = name_for(topic, "k9q2")
    s = fresh_persistent(clients, name, version)
    assert s.subscribe(f"{topic}/q", 2) == [2]
    s.disconnect()
    raw, present = raw_persistent(broker, name_for(topic, "k9q2p"), version)
    assert present is False
    stream = Qos2Stream(raw, version, lambda pid: f"{topic}/q", retain=False)

    kill_during(broker, stream)
    raw.close()

    acked = [payload for _, payload in stream.acked]
    s2 = persistent(clients, name, version)
    assert s2.session_present is True, "the subscriber's session must survive kill -9"
    got = collect_until(s2, set(acked))
    missing = [m for m in acked if m not in got]
    assert not missing, f"{len(missing)} of {len(acked)} messages lost by kill -9 after their PUBREC: {missing[:10]}"
    assert [m for m in got if m in set(acked)][: len(acked)] == acked

    raw2, present = raw_persistent(broker, name_for(topic, "k9q2p"), version)
    try:
        assert present is True, "the publisher's session (its QoS 2 packet ids) must survive kill -9"
        unfinished = sorted(set(stream.sent) - stream.pubcomp)
        stream.finish_after_restart(raw2)
    finally:
        raw2.close()
    every = [payload for _, payload in stream.sent.values()]
    got += collect_until(s2, set(every) - set(got))
    got += payloads(s2.drain(0.3))  # the PUBCOMPs are in: a second copy would be on its way now
    print(f"QoS 2: {len(stream.sent)} sent, {len(acked)} with PUBREC before the kill, unfinished {unfinished}")
    assert sorted(set(got)) == sorted(every), f"unknown or missing: {sorted(set(got) ^ set(every))[:10]}"
    twice = {m: n for m, n in Counter(got).items() if n > 1}
    assert not twice, f"QoS 2 messages delivered more than once across kill -9: {twice}"


@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_every_retained_qos2_message_whose_pubrec_arrived_survives_kill9(broker, clients, topic, version):
    """A retained QoS 2 PUBLISH is stored before its PUBREC: after kill -9 and a restart a new
    subscriber gets every retained message whose PUBREC arrived."""
    raw = RawClient(broker.host, broker.port)
    assert raw.connect("", version).reason() == 0
    stream = Qos2Stream(raw, version, lambda pid: f"{topic}/r/{pid}", retain=True)

    kill_during(broker, stream)
    raw.close()

    acked = {t: payload for t, payload in stream.acked}
    r = clients("", V5)
    r.subscribe(f"{topic}/r/#", 2)
    got = collect_until(r, set(acked.values()))
    missing = sorted(set(acked.values()) - set(got))
    assert not missing, f"{len(missing)} of {len(acked)} retained QoS 2 messages lost after their PUBREC: {missing[:10]}"


@pytest.mark.parametrize("version", [V311, V5], ids=mqtt_version_ids)
def test_a_qos2_publish_resent_after_kill9_is_not_routed_twice(broker, clients, topic, version):
    """The exactly-once half of the QoS 2 promise, made deterministic: the broker stored the
    message and sent its PUBREC, and the node died before the publisher's PUBREL (from the
    publisher's side the PUBREC may as well have been lost). The publisher resumes its session and
    resends the PUBLISH with DUP and the same packet id: the broker remembers the id (stored with
    the copy, docs/mqtt.md), answers PUBREC and does not route it again. A later message is the
    marker: a second copy would be queued before it."""
    name = name_for(topic, "k9dup")
    s = fresh_persistent(clients, name, version)
    assert s.subscribe(f"{topic}/q", 2) == [2]
    s.disconnect()
    pub_name = name_for(topic, "k9dupp")
    raw, _ = raw_persistent(broker, pub_name, version)
    raw.send(publish_packet(f"{topic}/q", b"once", qos=2, pid=7, version=version))
    assert raw.expect(PUBREC).reason() == 0  # stored; no PUBREL follows

    broker.kill9_restart()
    raw.close()

    raw2, present = raw_persistent(broker, pub_name, version)
    try:
        assert present is True
        raw2.send(publish_packet(f"{topic}/q", b"once", qos=2, pid=7, version=version, dup=True))
        assert raw2.expect(PUBREC).reason() == 0
        raw2.send(pubrel_packet(7))
        assert raw2.expect(PUBCOMP).reason() == 0
        raw2.send(publish_packet(f"{topic}/q", b"marker", qos=2, pid=8, version=version))
        assert raw2.expect(PUBREC).reason() == 0
        raw2.send(pubrel_packet(8))
        raw2.expect(PUBCOMP)
    finally:
        raw2.close()
    s2 = persistent(clients, name, version)
    assert s2.session_present is True
    assert collect_until(s2, {"marker"}) == ["once", "marker"], "the resent QoS 2 PUBLISH was routed again"
