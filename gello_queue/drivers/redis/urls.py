"""Parsing Redis URLs: the cluster switch, and a form safe to show (password redacted)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gello_queue.observability import redact_url as redact_userinfo

_TRUE = {"1", "true", "yes", "on"}
_SECRET_PARAMS = {"password", "pass", "pwd"}


def redact_url(url: str) -> str:
    """``url`` with any password (in the userinfo or the query) replaced by ``***``.

    The userinfo is the shared log redaction's job; redis-py also reads a password from
    the query string, so that is hidden here too.
    """
    try:
        parts = urlsplit(redact_userinfo(url))
        netloc = parts.netloc
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode(
                [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in pairs], safe="*"
            )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        # Unparseable: show only the scheme rather than risk echoing a secret.
        return url.split("://", 1)[0] + "://***"


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
