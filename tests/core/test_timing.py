"""The fixed log buckets: every duration lands in the bucket whose edges hold it, merged
histograms are sums, and a percentile is the true value's bucket."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gello_queue.core.timing import (
    LOWEST_S,
    RATIO,
    TOP,
    Series,
    TimingCount,
    bucket_of,
    lower_edge,
    merged,
    percentile,
    summed,
    upper_edge,
    value_of,
)

durations = st.floats(min_value=0, max_value=10 * 86_400, allow_nan=False)


@given(durations)
def test_a_duration_falls_between_its_buckets_edges(seconds: float) -> None:
    b = bucket_of(seconds)
    assert 0 <= b <= TOP
    assert lower_edge(b) <= seconds < upper_edge(b)


@given(st.integers(min_value=1, max_value=TOP - 1))
def test_every_edge_starts_its_own_bucket(bucket: int) -> None:
    assert bucket_of(lower_edge(bucket)) == bucket
    assert bucket_of(math.nextafter(lower_edge(bucket), 0)) == bucket - 1


@given(durations, durations)
def test_buckets_keep_the_order_of_durations(a: float, b: float) -> None:
    if a <= b:
        assert bucket_of(a) <= bucket_of(b)


@given(st.integers(min_value=0, max_value=TOP - 1))
def test_a_bucket_stands_for_a_value_inside_it(bucket: int) -> None:
    assert bucket_of(value_of(bucket)) == bucket


def test_the_buckets_span_a_millisecond_to_a_day_in_steps_of_the_ratio() -> None:
    assert bucket_of(0.0009) == 0
    assert bucket_of(-3.0) == 0  # a clock a little behind
    assert bucket_of(math.nan) == 0
    assert bucket_of(LOWEST_S) == 1
    assert upper_edge(1) / lower_edge(1) == pytest.approx(RATIO)
    assert upper_edge(TOP - 1) > 86_400
    assert bucket_of(10 * 86_400) == TOP
    assert TOP < 128  # a histogram is at most a few dozen numbers


@given(st.lists(durations, min_size=1, max_size=200), st.sampled_from([0.5, 0.95, 0.99]))
def test_a_percentile_is_in_the_bucket_of_the_true_one(values: list[float], q: float) -> None:
    histogram: dict[int, int] = {}
    for v in values:
        histogram[bucket_of(v)] = histogram.get(bucket_of(v), 0) + 1
    exact = sorted(values)[max(1, math.ceil(q * len(values))) - 1]  # nearest rank
    found = percentile(histogram, q)
    assert found is not None
    assert bucket_of(found) == bucket_of(exact)


@given(st.lists(st.dictionaries(st.integers(0, TOP), st.integers(1, 1000), max_size=8), max_size=6))
def test_merging_adds_bucket_by_bucket(parts: list[dict[int, int]]) -> None:
    out = merged(parts)
    assert sum(out.values()) == sum(sum(p.values()) for p in parts)
    for bucket, count in out.items():
        assert count == sum(p.get(bucket, 0) for p in parts)


def test_an_empty_histogram_has_no_percentile() -> None:
    assert percentile({}, 0.5) is None


def test_equal_keys_are_summed_in_key_order() -> None:
    rows = [
        TimingCount(120, "q", "B", Series.RUN, 5, 1),
        TimingCount(60, "q", "A", Series.WAIT, 3, 2),
        TimingCount(120, "q", "B", Series.RUN, 5, 4),
    ]
    assert summed(rows) == [
        TimingCount(60, "q", "A", Series.WAIT, 3, 2),
        TimingCount(120, "q", "B", Series.RUN, 5, 5),
    ]
