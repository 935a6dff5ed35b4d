"""A job's result: what ``handle`` returned, kept as JSON through its return annotation.

The annotation is the contract, both ways: a pydantic model, or any type pydantic can
write as JSON (``dict[str, int]``, ``list[str]``, ``int``...), is validated and written
when the job completes, and read back into that type by ``Job.result``. Nothing is
pickled: a value that is not JSON fails the attempt with a ``ResultError`` saying so.
"""

from __future__ import annotations

import typing
import weakref
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import PydanticSchemaGenerationError, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from gello_queue.core.errors import ResultError

if TYPE_CHECKING:
    from gello_queue.core.job import Job


@runtime_checkable
class ResultSource(Protocol):
    """What ``Job.result`` needs of a connection: ``gello_queue.Queue`` is one."""

    async def result_json(self, job_id: str, timeout: float = 30.0) -> str: ...  # noqa: ASYNC109

    def result_json_blocking(self, job_id: str, timeout: float = 30.0) -> str: ...


def keeps_result(job_cls: type[Job[Any]], default_s: int) -> int:
    """Seconds a result of ``job_cls`` is kept: its ``keep_result``, else the setting."""
    own = job_cls.keep_result
    return default_s if own is None else own


_adapters: weakref.WeakKeyDictionary[type, TypeAdapter[Any]] = weakref.WeakKeyDictionary()


def result_adapter(job_cls: type[Job[Any]]) -> TypeAdapter[Any]:
    """The adapter of ``job_cls.handle``'s return annotation (``Any`` when there is none
    or it cannot be resolved here).

    Raises:
        ResultError: the annotation is no type pydantic can write as JSON.
    """
    found = _adapters.get(job_cls)
    if found is not None:
        return found
    try:
        annotation = typing.get_type_hints(job_cls.handle).get("return", Any)
    except (NameError, TypeError):
        annotation = Any  # a forward reference this module cannot see: checked by value
    try:
        found = _adapters[job_cls] = TypeAdapter(annotation)
    except PydanticSchemaGenerationError as exc:
        raise ResultError(
            f"{job_cls.__name__}.handle returns {annotation!r}, which cannot be kept as a"
            f" result: annotate it with a pydantic model or a JSON type ({exc})"
        ) from None
    return found


def encode_result(job_cls: type[Job[Any]], value: Any, max_bytes: int) -> str:
    """``value`` as JSON, validated by the return annotation.

    Raises:
        ResultError: it does not match the annotation, is not JSON, or is over ``max_bytes``.
    """
    adapter = result_adapter(job_cls)
    try:
        data = adapter.dump_json(adapter.validate_python(value))
    except ValidationError as exc:
        raise ResultError(
            f"the result of {job_cls.name} does not match its return annotation: {_describe(exc)}"
        ) from None
    except PydanticSerializationError as exc:
        raise ResultError(
            f"the result of {job_cls.name} ({type(value).__name__}) cannot be kept: it is not"
            f" JSON ({exc}); return a pydantic model or JSON types"
        ) from None
    if len(data) > max_bytes:
        raise ResultError(
            f"the result of {job_cls.name} is {len(data)} bytes as JSON, over the"
            f" {max_bytes} bytes QUEUE_MAX_RESULT_BYTES allows"
        )
    return data.decode()


def _describe(exc: ValidationError) -> str:
    """One line from a pydantic error: ``field: message; other: message``."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'result'}: {err['msg']}" for err in exc.errors()
    )


def decode_result(job_cls: type[Job[Any]], data: str) -> Any:
    """A stored result read back into ``job_cls.handle``'s return type."""
    return result_adapter(job_cls).validate_json(data)
