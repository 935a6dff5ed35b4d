"""Dispatch a few welcome emails from a script: `python dispatch.py`.

The jobs go to the queue the settings describe (QUEUE_DRIVER, DATABASE_URL, REDIS_URL, from
the environment or .env), which is where `gello queue:work` looks for them.
"""

from __future__ import annotations

import asyncio

from app.jobs import SendWelcomeEmail

from gello_queue import default_queue


async def main() -> None:
    job_id = await SendWelcomeEmail.dispatch(user_id=1, email="ada@example.com")
    print(f"dispatched {job_id}")

    # Many jobs in one round trip, on the same configured queue.
    ids = await default_queue().bulk(
        [SendWelcomeEmail.make(user_id=i, email=f"user{i}@example.com") for i in range(2, 5)]
    )
    print(f"dispatched {len(ids)} more")


if __name__ == "__main__":
    asyncio.run(main())
