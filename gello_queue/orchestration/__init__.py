"""What a job can declare beyond ``handle``: unique jobs and debounce, batches, chains
and cron schedules. Middleware lives in ``gello_queue.middleware``.

Everything here rides on the envelope (``unique_*``, ``batch_id``, ``chain``,
``middleware``) and on the coordination part of the port (counters, locks, batch
records), so it behaves the same on every driver.
"""

from __future__ import annotations
