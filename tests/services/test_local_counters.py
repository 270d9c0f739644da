"""services.ratelimit.LocalCounters: the limits counted in this process while the shared storage
is unreachable must answer as the limits library's strategies do (a hit within the limit passes,
the one past it is refused until the window ends, ``test`` counts nothing, ``clear`` forgets)."""

import time

from limits import parse

from peerlearn.services.ratelimit import LocalCounters


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_hits_within_the_limit_pass_and_the_next_is_refused_until_the_window_ends():
    clock = Clock()
    counters = LocalCounters(clock)
    item = parse("3 per minute")
    assert [counters.hit(item, "pl", "login", "ana") for _ in range(4)] == [True, True, True, False]
    assert counters.hit(item, "pl", "login", "ben")  # another key counts on its own
    clock.now += 59
    assert not counters.hit(item, "pl", "login", "ana")
    clock.now += 1
    assert counters.hit(item, "pl", "login", "ana")


def test_test_counts_nothing_and_window_stats_say_when_and_how_many_are_left():
    clock = Clock()
    counters = LocalCounters(clock)
    item = parse("2 per minute")
    assert counters.test(item, "k")
    reset_at, left = counters.get_window_stats(item, "k")
    assert left == 2
    counters.hit(item, "k")
    counters.test(item, "k")
    counters.test(item, "k")
    reset_at, left = counters.get_window_stats(item, "k")
    assert left == 1
    counters.hit(item, "k")
    assert not counters.test(item, "k")
    clock.now += 20
    reset_at, left = counters.get_window_stats(item, "k")
    assert left == 0
    assert 30 < reset_at - time.time() <= 40  # 60 s window, 20 s gone


def test_clear_forgets_one_key_and_limits_of_different_sizes_do_not_share_a_window():
    counters = LocalCounters(Clock())
    small, large = parse("1 per minute"), parse("5 per minute")
    assert counters.hit(small, "k")
    assert not counters.hit(small, "k")
    assert counters.hit(large, "k")  # its own window
    counters.clear(small, "k")
    assert counters.hit(small, "k")
