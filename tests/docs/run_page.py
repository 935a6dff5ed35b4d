"""Run the python blocks of one page, in order, in one namespace: ``python run_page.py PAGE``.

Top-level ``await`` works as in ``python -m asyncio``, on one event loop kept for the page
(a queue opens one driver per loop). A block without ``await`` runs outside the loop, as a
script's code does, so the ``*_blocking`` twins work there. Blocks marked not-run and
blocks included from example files are left to their own checks.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import sys
import traceback
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from blocks import blocks


def main(page: Path) -> int:
    # A real module, as a script's __main__ is: pydantic resolves annotations through it.
    page_module = types.ModuleType("__docs__")
    sys.modules[page_module.__name__] = page_module
    namespace = page_module.__dict__
    loop = asyncio.new_event_loop()
    for block in blocks(page):
        if block.lang != "python" or block.not_run or block.includes:
            continue
        code = compile(
            "\n" * (block.line) + block.text,  # tracebacks point at the page's own lines
            str(block.page),
            "exec",
            flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        )
        try:
            result = eval(code, namespace)  # the project's own documentation, on purpose
            if inspect.iscoroutine(result):
                loop.run_until_complete(result)
        except BaseException:
            traceback.print_exc()
            print(f"the block at {block.where} failed", file=sys.stderr)
            return 1
    loop.run_until_complete(_close_default_queue())
    loop.close()
    return 0


async def _close_default_queue() -> None:
    from gello_queue import default_queue

    await default_queue().close()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
