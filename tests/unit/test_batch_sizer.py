"""The dispatcher's batch cap follows how long batches take, within its floor and cap."""

from __future__ import annotations

from flows.dispatcher import BatchSizer


def test_first_batch_is_small_until_a_batch_was_timed() -> None:
    sizer = BatchSizer(cap=2000, poll_interval_s=10)
    assert sizer.limit == 200


def test_fast_batches_grow_the_cap_up_to_the_setting() -> None:
    sizer = BatchSizer(cap=2000, poll_interval_s=10)
    sizer.record(200, 0.02)  # 0.1 ms a record: 2 s would hold 20,000
    assert sizer.limit == 2000


def test_slow_batches_shrink_the_cap_so_a_batch_stays_well_inside_the_poll_interval() -> None:
    sizer = BatchSizer(cap=2000, poll_interval_s=10)
    sizer.record(2000, 16.0)  # 8 ms a record: the group would have evicted us at 10 s
    assert sizer.limit == 250  # 2 s of work
    sizer.record(250, 2.0)
    assert sizer.limit == 250


def test_cap_never_falls_below_the_floor_and_tiny_batches_do_not_count() -> None:
    sizer = BatchSizer(cap=2000, poll_interval_s=10)
    sizer.record(3, 30.0)
    assert sizer.limit == 200
    sizer.record(100, 100.0)
    assert sizer.limit == 50
