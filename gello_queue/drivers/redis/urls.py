"""Parsing Redis URLs: the cluster switch, and a form safe to show (password redacted)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gello_queue.observability import redact_url

__all__ = ["redact_url", "split_cluster"]

_TRUE = {"1", "true", "yes", "on"}


def split_cluster(url: str) -> tuple[str, bool]:
    """The URL redis-py understands, and whether it names a Redis Cluster.

    A cluster is asked for with ``redis+cluster://`` / ``rediss+cluster://`` or a
    ``cluster=true`` query parameter (which works through ``QUEUE_URL`` with the plain
    ``redis://`` scheme); the marker is removed before redis-py parses the URL.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    cluster = False
    if scheme.endswith("+cluster"):
        scheme = scheme.removesuffix("+cluster")
        cluster = True
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = []
    for key, value in pairs:
        if key.lower() == "cluster":
            cluster = cluster or value.lower() in _TRUE
        else:
            kept.append((key, value))
    query = urlencode(kept)
    return urlunsplit((scheme, parts.netloc, parts.path, query, parts.fragment)), cluster
