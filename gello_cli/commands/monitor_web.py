"""``gello queue:monitor --web``: the same dashboard, served to browsers by textual-serve.

textual-serve starts one ``gello queue:monitor`` process per browser tab, in this process's
environment (so with the same settings), and relays its screen over a websocket.
"""

from __future__ import annotations

import errno
import ipaddress
import shlex
import socket
import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from aiohttp import web

TITLE = "gello dashboard"


def session_command(*, queue: str | None, theme: str, interval: float, allow_actions: bool) -> str:
    """The shell command textual-serve runs for each browser session.

    ``--read-only`` is on unless actions are allowed: whoever reaches the page is not
    necessarily someone who may retry or delete jobs.
    """
    parts = [sys.executable, "-m", "gello_cli", "queue:monitor"]
    parts += ["--theme", theme, "--interval", repr(interval)]
    if queue:
        parts += ["--queue", queue]
    if not allow_actions:
        parts.append("--read-only")
    return shlex.join(parts)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: assume other machines can reach it
        return False


def public_url(host: str, port: int) -> str:
    """Where browsers find the page: a wildcard address names no machine, so use ours."""
    name = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
    if ":" in name:
        name = f"[{name}]"
    return f"http://{name}:{port}"


def check_port(host: str, port: int) -> None:
    """Refuse a port that is taken with one line, before anything is served.

    Raises:
        ConfigurationError: the address cannot be listened on.
    """
    from gello_queue import ConfigurationError

    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            # The server sets SO_REUSEADDR too: a port in TIME_WAIT is free, a listening one is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise ConfigurationError(
                        f"port {port} on {host} is already in use: choose another with --port"
                    ) from None
                raise ConfigurationError(
                    f"cannot listen on {host}:{port}: {exc.strerror}"
                ) from None


def serve(
    *,
    host: str,
    port: int,
    url: str | None,
    queue: str | None,
    theme: str,
    interval: float,
    allow_actions: bool,
) -> None:
    """Serve the dashboard until Ctrl+C (``theme`` already checked by the caller)."""
    from textual_serve.server import Server

    from gello_cli.context import with_inspector

    # A wrong setting or an unreachable server is one line here, not a blank page later.
    with_inspector(lambda i: i.snapshot())
    check_port(host, port)

    class QuietServer(Server):
        def initialize_logging(self) -> None:
            """Keep gello's logging: warnings and errors only, no line per request."""

        async def on_startup(self, app: web.Application) -> None:
            """Say nothing: textual-serve's banner repeats the command; ours is one line."""

    address = url or public_url(host, port)
    server = QuietServer(
        session_command(queue=queue, theme=theme, interval=interval, allow_actions=allow_actions),
        host=host,
        port=port,
        title=TITLE,
        public_url=address,
    )
    mode = "actions allowed" if allow_actions else "read-only; --allow-actions enables actions"
    typer.echo(f"Serving the dashboard at {address} ({mode}); Ctrl+C stops it")
    if not is_loopback(host):
        typer.echo(
            f"warning: {host}:{port} is reachable from the network: anyone who reaches it sees"
            " the queues" + (" and can act on jobs" if allow_actions else ""),
            err=True,
        )
    server.serve()
