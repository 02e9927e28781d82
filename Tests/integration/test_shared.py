"""Shared subscriptions ($share/group/filter)."""

from collections import Counter

import pytest

from helpers import V5, expect_across


@pytest.mark.parametrize("members", [2, 3])
def test_shared_subscription_delivers_each_message_to_exactly_one_member(clients, topic, members):
    group = [clients("", V5) for _ in range(members)]
    for c in group:
        assert c.subscribe(f"$share/g1/{topic}/work/+", 1) == [1]
    plain = clients("", V5)
    plain.subscribe(f"{topic}/work/+", 1)
    pub = clients("", V5)
    n = 60
    for i in range(n):
        pub.publish(f"{topic}/work/{i % 3}", f"job-{i}", qos=1)

    everything = plain.expect_messages(n, timeout=10)
    assert sorted(m.payload for m in everything) == sorted(f"job-{i}".encode() for i in range(n)), \
        "a non-shared subscriber still gets every message"
    per_member = [[m.payload.decode() for m in got] for got in expect_across(group, n, timeout=10)]
    counts = Counter(p for got in per_member for p in got)
    assert set(counts) == {f"job-{i}" for i in range(n)}, "every message reaches the group"
    dup = {p: k for p, k in counts.items() if k > 1}
    assert not dup, f"messages delivered to more than one member: {dup}"
    assert all(per_member), f"every member should get some messages: {[len(g) for g in per_member]}"
    for got in per_member:  # order is kept for the messages each member gets
        idx = [int(p.split("-")[1]) for p in got]
        assert idx == sorted(idx)


def test_two_groups_each_get_every_message(clients, topic):
    a = [clients("", V5) for _ in range(2)]
    b = [clients("", V5) for _ in range(2)]
    for c in a:
        c.subscribe(f"$share/ga/{topic}/t", 1)
    for c in b:
        c.subscribe(f"$share/gb/{topic}/t", 1)
    pub = clients("", V5)
    for i in range(20):
        pub.publish(f"{topic}/t", str(i), qos=1)
    for grp in (a, b):
        got = sorted(int(m.payload) for member in expect_across(grp, 20) for m in member)
        assert got == list(range(20))


def test_shared_subscription_member_leaving_does_not_lose_messages(clients, topic):
    stay = clients("", V5)
    leave = clients("", V5)
    for c in (stay, leave):
        c.subscribe(f"$share/g2/{topic}/t", 1)
    leave.unsubscribe(f"$share/g2/{topic}/t")
    pub = clients("", V5)
    for i in range(10):
        pub.publish(f"{topic}/t", str(i), qos=1)
    assert [int(m.payload) for m in stay.expect_messages(10)] == list(range(10))
    leave.expect_no_message(0.3)
