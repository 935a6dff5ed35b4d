"""The filter language of the Jobs and Failed screens: parsing, ages, payload text."""

from __future__ import annotations

import pytest

from gello_queue.core.errors import ConfigurationError
from gello_queue.core.failed_query import FailedQuery, merge_queue
from gello_queue.core.records import FailedJob
from gello_queue.core.tags import tag_needle


def _failed(failed_at: float, body: str = '{"payload": {}}') -> FailedJob:
    return FailedJob(
        id="j1",
        queue="emails",
        name="SendInvoice",
        body=body,
        exception="TimeoutError",
        message="took too long",
        traceback="",
        attempts=3,
        failed_at=failed_at,
    )


def test_ages_parse_in_every_unit() -> None:
    q = FailedQuery.parse("name:Invoice age:>1h age:<2d")
    assert (q.name, q.older_than, q.newer_than) == ("Invoice", 3600.0, 172800.0)
    assert FailedQuery.parse("age:>90s").older_than == 90.0
    assert FailedQuery.parse("age:<10m").newer_than == 600.0


def test_a_parsed_filter_equals_itself_later() -> None:
    # The dashboard compares the filter of a listing with the current one.
    assert FailedQuery.parse("age:>1h") == FailedQuery.parse("age:>1h")


@pytest.mark.parametrize("bad", ["age:>abc", "age:1h", "age:>1w", "age:", "age:>-3m"])
def test_a_bad_age_is_one_clear_error(bad: str) -> None:
    with pytest.raises(ConfigurationError, match=r"age:>1h"):
        FailedQuery.parse(bad)


def test_ages_become_time_bounds_when_the_query_runs() -> None:
    q = merge_queue(FailedQuery.parse("age:>1h age:<1d"), "emails", now=100_000.0)
    assert (q.queue, q.before, q.after) == ("emails", 100_000.0 - 3600, 100_000.0 - 86400)
    assert (q.older_than, q.newer_than) == (None, None)
    assert q.matches(_failed(90_000.0))
    assert not q.matches(_failed(99_000.0))  # younger than an hour
    assert not q.matches(_failed(10_000.0))  # older than a day


def test_free_text_searches_the_payload() -> None:
    q = FailedQuery.parse('"customer 4711"')
    assert q.matches(_failed(1.0, body='{"payload": {"note": "Customer 4711"}}'))
    assert not q.matches(_failed(1.0))


def test_describe_writes_ages_back() -> None:
    q = FailedQuery.parse("queue:emails age:>90m age:<2d words")
    assert q.describe() == "queue:emails age:>90m age:<2d words"
    assert FailedQuery.parse(q.describe()) == q


def test_a_tag_part_keeps_its_own_colons_and_reads_back() -> None:
    query = FailedQuery.parse("queue:emails tag:customer:42 late")
    assert (query.queue, query.tag, query.text) == ("emails", "customer:42", "late")
    assert query.describe() == "queue:emails tag:customer:42 late"
    assert not query.indexed  # no index holds tags: a budgeted walk on Redis
    assert tag_needle("customer:42") == '"customer:42"'
    assert tag_needle('a"b') == '"a\\"b"'  # as the envelope's JSON writes it
