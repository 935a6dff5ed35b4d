"""Stand-ins for the services a real application has: a mailer and an alert channel.

Both write one line to standard output, so running the example shows what the jobs did.
"""

from __future__ import annotations

import asyncio


class Mailer:
    """Sends mail; here it prints the message instead."""

    async def send(self, to: str, template: str, **context: object) -> None:
        await asyncio.sleep(0)  # a real mailer awaits its SMTP or HTTP call here
        print(f"mail to {to}: {template} {context}", flush=True)


async def alert(message: str) -> None:
    """Tells the team something went wrong; here it prints it."""
    print(f"ALERT: {message}", flush=True)


mailer = Mailer()
