"""Selecting and grouping failed jobs: the filter language and the fingerprint.

The filter record and the fingerprint live in ``gello_queue.core.failed_query``, where
the drivers apply them in their backends; tools know the filter as ``FailedFilter``.
"""

from __future__ import annotations

from gello_queue.core.failed_query import FailedQuery as FailedFilter
from gello_queue.core.failed_query import FailureGroup, fingerprint, merge_queue

__all__ = ["FailedFilter", "FailureGroup", "fingerprint", "merge_queue"]
