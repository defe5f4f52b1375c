"""The lease rules (pure) and the message links the relay writes: no services needed."""

from __future__ import annotations

from plantwire.bus.keys import fair_share, plan_leases
from plantwire.bus.nats import BusUrl, consumer_config
from plantwire.service.retry import RetryPolicy

NOW = 1000.0


def owned(writes: dict[int, dict[str, object]], me: str) -> list[int]:
    return sorted(k for k, v in writes.items() if v["owner"] == me)


def test_a_lone_worker_takes_every_partition() -> None:
    assert owned(plan_leases("a", NOW, 8, 1, {}), "a") == list(range(8))


def test_a_newcomer_gets_only_what_is_free_and_the_holder_gives_back_its_extras() -> None:
    held = {k: {"owner": "a", "epoch": 1, "until": NOW + 3} for k in range(8)}
    assert owned(plan_leases("b", NOW, 8, 2, held), "b") == []  # nothing lapsed yet
    give = plan_leases("a", NOW, 8, 2, held)
    assert owned(give, "a") == [0, 1, 2, 3]
    released = {k: v for k, v in give.items() if v["owner"] is None}
    assert sorted(released) == [4, 5, 6, 7] and all(v["epoch"] == 1 for v in released.values())
    after = {**held, **give}
    take = plan_leases("b", NOW, 8, 2, after)
    assert owned(take, "b") == [4, 5, 6, 7] and all(take[k]["epoch"] == 2 for k in (4, 5, 6, 7))


def test_a_lapsed_lease_is_taken_over_with_a_new_epoch() -> None:
    held = {0: {"owner": "dead", "epoch": 5, "until": NOW - 0.1},
            1: {"owner": "b", "epoch": 2, "until": NOW + 3}}
    take = plan_leases("b", NOW, 2, 1, held)
    assert take[0] == {"owner": "b", "epoch": 6} and take[1]["owner"] == "b"


def test_fair_share_rounds_up() -> None:
    assert [fair_share(8, n) for n in (0, 1, 2, 3, 8, 9)] == [8, 8, 4, 3, 1, 1]


def test_consumer_backoff_and_max_deliver_follow_the_retry_policy() -> None:
    policy = RetryPolicy(max_attempts=4, initial_interval=10, backoff_coefficient=2, max_interval=30)
    c = consumer_config(policy, "pw_tally_p0", "pw.*.*.*.0")
    assert c.max_deliver == 4 and c.backoff == [10, 20, 30] and c.ack_wait == 10


def test_subjects_name_plant_domain_type_and_partition() -> None:
    url = BusUrl.parse("nats://127.0.0.1:4222?prefix=hub&partitions=16")
    assert url.subject("1000", "production.order.released", 3) == "hub.1000.production.order_released.3"
    assert url.partition_filter(3) == "hub.*.*.*.3" and url.stream == "PW_HUB"
    assert url.servers == "nats://127.0.0.1:4222"
