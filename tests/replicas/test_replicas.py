"""Two `byoc serve` replicas on one PostgreSQL database behave as one bridge.

Real processes on real ports (see `cluster.py`): the Viber and Freshchat emulators, a load
balancer, the replicas. Leases last 2 s, so a dead replica's work is taken over quickly.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from byoc.testing.postgres import TemporaryPostgres
from tests.postgres import database

from .cluster import Cluster, wait_until


def dump_logs(cluster: Cluster) -> None:
    """Shown by pytest when a test fails."""
    for index in range(len(cluster.bridges)):
        print(f"--- replica {index}\n{cluster.log(index)[-6000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One cluster for the tests that kill nothing (each uses users of its own)."""
    db = database()
    schema = f"r_{uuid.uuid4().hex[:12]}"
    db.execute(f"CREATE SCHEMA {schema}")
    made = Cluster(tmp_path_factory.mktemp("cluster"), db.schema_url(schema))
    try:
        yield made
    finally:
        dump_logs(made)
        made.stop()
        db.execute(f"DROP SCHEMA {schema} CASCADE")


def users(cluster: Cluster, prefix: str, count: int, messages: int) -> dict[str, list[str]]:
    """New Viber users, each with the texts it will send."""
    made = {}
    for n in range(count):
        user = cluster.viber.user(f"{prefix}-{n}")
        made[user] = [f"{prefix}-{n}-m{i}" for i in range(messages)]
    return made


def say_all(cluster: Cluster, expected: dict[str, list[str]], messages: range) -> None:
    """Round after round, every user says its next message (the emulator keeps each user's
    callbacks in order; users go in parallel)."""
    for i in messages:
        for user, texts in expected.items():
            cluster.viber.say(user, texts[i])


def assert_exactly_once_in_order(cluster: Cluster, expected: dict[str, list[str]]) -> None:
    texts = cluster.freshchat.texts()
    for user, sent in expected.items():
        assert texts.get(user) == sent, user
        (helpdesk_user,) = cluster.freshchat.users(user)  # one help-desk user per Viber user
        assert len(cluster.freshchat.conversations(str(helpdesk_user["id"]))) == 1


def assert_exactly_once_in_acceptance_order(
    cluster: Cluster, expected: dict[str, list[str]]
) -> None:
    """Every message once, one conversation per user, and the user's order as the bridge
    accepted it. A webhook cut off by the dying replica is retried by Viber a second later,
    while the user's next message goes through at once (Viber holds nothing back for a
    retry): the bridge can only keep the order its webhooks arrive in. Messages accepted at
    their first attempt keep the order they were sent in; a retried one comes later."""
    texts = cluster.freshchat.texts()
    retried = {
        c["payload"]["message"]["text"]
        for c in cluster.viber.message_callbacks()
        if c["attempts"][:1] != [200]
    }
    for user, sent in expected.items():
        got = texts.get(user, [])
        assert Counter(got) == Counter(sent), user
        first_time = [t for t in sent if t not in retried]
        assert [t for t in got if t not in retried] == first_time, user
        (helpdesk_user,) = cluster.freshchat.users(user)
        assert len(cluster.freshchat.conversations(str(helpdesk_user["id"]))) == 1


def test_first_messages_of_new_users_spread_over_both_replicas(cluster: Cluster) -> None:
    cluster.balancer.mode("round-robin")
    before = cluster.replicas_that_answered()
    expected = users(cluster, "new", 8, 3)
    say_all(cluster, expected, range(3))
    cluster.delivered(expected)
    assert_exactly_once_in_order(cluster, expected)
    answered = cluster.replicas_that_answered() - before
    assert all(answered[url] >= 8 for url in cluster.urls), answered


def test_one_webhook_delivered_to_both_replicas_is_queued_once(cluster: Cluster) -> None:
    cluster.balancer.mode("both")
    expected = users(cluster, "twice", 4, 3)
    say_all(cluster, expected, range(3))
    cluster.delivered(expected)
    assert_exactly_once_in_order(cluster, expected)
    # An agent's reply: Freshchat's webhook reaches both replicas, the user gets it once.
    for user in expected:
        (helpdesk_user,) = cluster.freshchat.users(user)
        (conversation,) = cluster.freshchat.conversations(str(helpdesk_user["id"]))
        cluster.freshchat.reply(str(conversation["conversation_id"]), f"answer for {user}")
    for user in expected:
        wait_until(lambda u=user: cluster.viber.sent_texts(u) != [], "the reply")
    wait_until(cluster.queue_empty, "an empty queue")
    for user in expected:
        assert cluster.viber.sent_texts(user) == [f"answer for {user}"]
    answered = cluster.balancer.state()["answered"]
    assert all(answered.get(f"{url} 200", 0) > 0 for url in cluster.urls)


def test_a_users_messages_alternating_between_replicas_keep_their_order(
    cluster: Cluster,
) -> None:
    cluster.balancer.mode("round-robin")
    expected = users(cluster, "alternating", 3, 12)
    say_all(cluster, expected, range(12))
    cluster.delivered(expected)
    assert_exactly_once_in_order(cluster, expected)


def refused(cluster: Cluster) -> int:
    """How many webhooks a replica answered with something else than 200 (a 503)."""
    return sum(
        status != 200
        for callback in cluster.viber.message_callbacks()
        for status in callback["attempts"]
    )


@pytest.fixture
def own_cluster(tmp_path: Path, postgres_url: str) -> Iterator[Cluster]:
    made = Cluster(tmp_path, postgres_url)
    try:
        yield made
    finally:
        dump_logs(made)
        made.stop()


def test_a_replica_killed_mid_delivery_leaves_its_work_to_the_survivor(
    own_cluster: Cluster,
) -> None:
    cluster = own_cluster
    # Posts into a conversation take 300 ms: deliveries are in flight when the replica dies.
    cluster.freshchat.latency(0.3)
    cluster.balancer.mode("round-robin")
    expected = users(cluster, "kill", 6, 8)
    say_all(cluster, expected, range(4))
    wait_until(
        lambda: sum(len(t) for t in cluster.freshchat.texts().values()) >= 6,
        "a first message of every user",
    )
    cluster.kill(0)
    # The survivor keeps taking traffic (the balancer finds replica 0 gone and moves on).
    say_all(cluster, expected, range(4, 8))
    cluster.delivered(expected, timeout=120)
    assert cluster.viber.all_acknowledged()
    assert_exactly_once_in_acceptance_order(cluster, expected)
    assert cluster.urls[0] in cluster.balancer.state()["down"]
    assert "recovering, it may have been delivered" in cluster.log(1)  # it took jobs over


def test_postgresql_restarted_under_load_loses_nothing(
    tmp_path: Path, postgres_server: TemporaryPostgres
) -> None:
    cluster = Cluster(tmp_path, postgres_server.url)
    try:
        cluster.balancer.mode("round-robin")
        expected = users(cluster, "outage", 5, 8)
        say_all(cluster, expected, range(4))
        postgres_server.stop_server()
        # Webhooks now get 503 and Viber retries them (after 1 s, 5 s, 30 s, ...).
        say_all(cluster, expected, range(4, 8))
        wait_until(lambda: refused(cluster) >= 3, "webhooks refused during the outage")
        postgres_server.start_server()
        cluster.delivered(expected, timeout=240)
        wait_until(cluster.viber.all_acknowledged, "every callback acknowledged", 240)
        texts = cluster.freshchat.texts()
        for user, sent in expected.items():
            # Exactly once; Viber's retries may reorder what was refused during the outage.
            assert Counter(texts.get(user, [])) == Counter(sent), user
    finally:
        dump_logs(cluster)
        cluster.stop()
