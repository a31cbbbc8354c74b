"""One fuzz case, run through allm's public sans-IO API on one backend, and the verdict.

A :class:`Case` is everything needed to replay an input: the wire, the API
mode, the chunks, the decoder options and how the stream ends. :func:`run`
drives the public decoder classes (``StreamDecoder``, ``collect``, ``SSEDecoder``)
with the backend chosen through ``allm._backend`` and records every
observable result as a list of steps. :func:`judge` runs both backends and
returns a :class:`Finding` for a foreign exception, a native panic, or any
step on which they disagree.
"""

from __future__ import annotations

import base64
import contextlib
import functools
from collections.abc import Generator
from dataclasses import dataclass, field, fields
from types import ModuleType
from typing import Any, cast

import allm
import allm.sse
from allm import _backend  # pyright: ignore[reportPrivateUsage]
from allm.errors import AdapterError, AllmError, StreamError

__all__ = ["MODES", "Case", "Finding", "backends", "judge", "run", "shown"]

MODES = ("feed", "quiet", "collect", "sse")
FAIL_ERRORS = (
    StreamError("timeout", "idle timeout"),
    AdapterError("network_error", "connection reset"),
)
SHOWN = 400  # characters of a value shown in a report


@dataclass(frozen=True)
class Case:
    """A replayable input: ``mode`` is one of :data:`MODES`; ``end`` is close, fail or none."""

    wire: str
    mode: str
    chunks: tuple[bytes, ...]
    options: dict[str, Any] = field(default_factory=dict[str, Any])
    end: str = "close"
    peek: bool = False  # read response() after every chunk
    chunk_type: str = "bytes"  # bytes, bytearray or memoryview

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["chunks"] = [base64.b64encode(c).decode() for c in self.chunks]
        return out

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Case:
        chunks = tuple(base64.b64decode(c) for c in value["chunks"])
        return cls(**{k: v for k, v in value.items() if k != "chunks"}, chunks=chunks)


@dataclass(frozen=True)
class Finding:
    """What went wrong: ``kind`` is foreign, panic or disagreement; ``key`` identifies it.

    ``native`` and ``pure`` are the whole reprs of the differing values (the
    allow-list matches them); reports show them cut with :func:`shown`."""

    kind: str
    where: str
    detail: str
    native: str = ""
    pure: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """Stays the same while a reproducer shrinks (the values shown may change)."""
        return self.kind, self.where

    def summary(self, case: Case) -> str:
        """The text the allow-list patterns are matched against."""
        head = f"{self.kind} {case.wire} {case.mode}/{case.chunk_type} {self.where}"
        return f"{head}: {self.detail} {self.native} {self.pure}"


def backends() -> dict[str, ModuleType]:
    """The two backends by name; ImportError when the native module is not built."""
    return {"native": _backend.load("rust")[0], "pure": _backend.load("python")[0]}


@contextlib.contextmanager
def active(module: ModuleType) -> Generator[None, None, None]:
    """Make ``module`` the backend behind the public API for the duration."""
    saved = _backend.backend
    _backend.backend = module
    try:
        yield
    finally:
        _backend.backend = saved


class Foreign(Exception):
    """Wraps an exception that is not an AllmError, with the step it escaped from."""

    def __init__(self, where: str, error: BaseException) -> None:
        super().__init__(where, error)
        self.where = where
        self.error = error


def foreign(where: str, error: BaseException) -> Foreign:
    """``error`` as a Foreign finding; an interrupt or exit is re-raised instead."""
    if isinstance(error, KeyboardInterrupt | SystemExit):
        raise error
    return Foreign(where, error)


def shaped(case: Case, chunk: bytes) -> Any:
    if case.chunk_type == "bytearray":
        return bytearray(chunk)
    if case.chunk_type == "memoryview":
        return memoryview(chunk)
    return chunk


def error_value(error: AllmError) -> tuple[Any, ...]:
    return ("raised", type(error).__name__, error.reason, error.message)


def call(steps: list[tuple[Any, ...]], where: str, fn: Any, *args: Any, typed: bool = True) -> bool:
    """Record ``fn(*args)`` as a step; False once it raised an allm error (the run stops).

    With ``typed`` False (chunks that are not bytes) a TypeError is a recorded
    outcome too: rejecting a chunk type is allowed, the backends must agree on it."""
    try:
        steps.append((where, fn(*args)))
    except AllmError as error:
        steps.append((where, error_value(error)))
        return False
    except TypeError as error:
        if typed:
            raise Foreign(where, error) from error
        steps.append((where, ("raised", "TypeError")))
        return False
    except BaseException as error:  # a PyO3 PanicException is a BaseException
        raise foreign(where, error) from error
    return True


def run_decoder(case: Case, steps: list[tuple[Any, ...]]) -> None:
    quiet = case.mode == "quiet"
    decoder = _backend.backend.StreamDecoder(case.wire, **case.options)
    feed = decoder.feed_quiet if quiet else decoder.feed
    for i, chunk in enumerate(case.chunks):
        if not call(steps, f"feed#{i}", feed, shaped(case, chunk), typed=case.chunk_type == "bytes"):
            return
        steps.append((f"flags#{i}", (decoder.started, decoder.done)))
        if case.peek and not call(steps, f"response#{i}", decoder.response):
            return
    if case.end == "close":
        ok = call(steps, "close", decoder.close_quiet if quiet else decoder.close)
    elif case.end == "fail":
        error = FAIL_ERRORS[len(case.chunks) % len(FAIL_ERRORS)]
        ok = call(steps, "fail", decoder.fail_quiet if quiet else decoder.fail, error)
    else:
        ok = True
    if ok:
        steps.append(("flags", (decoder.started, decoder.done)))
        call(steps, "response", decoder.response)


def run_sse(case: Case, steps: list[tuple[Any, ...]]) -> None:
    limits = {k: v for k, v in case.options.items() if k in ("max_line_bytes", "max_event_bytes")}
    decoder = _backend.backend.SSEDecoder(**limits)
    for i, chunk in enumerate(case.chunks):
        if not call(steps, f"feed#{i}", decoder.feed, shaped(case, chunk), typed=case.chunk_type == "bytes"):
            return
        steps.append((f"fields#{i}", (decoder.last_event_id, decoder.retry)))
    call(steps, "close", decoder.close)
    steps.append(("fields", (decoder.last_event_id, decoder.retry)))


def run_collect(case: Case, steps: list[tuple[Any, ...]]) -> None:
    limits = {k: v for k, v in case.options.items() if k.startswith("max_")}
    chunks = [shaped(case, c) for c in case.chunks]
    collect = functools.partial(_backend.backend.collect, **limits)
    call(steps, "collect", collect, case.wire, chunks, typed=case.chunk_type == "bytes")


RUNNERS = {"feed": run_decoder, "quiet": run_decoder, "collect": run_collect, "sse": run_sse}


def run(case: Case, module: ModuleType) -> list[tuple[Any, ...]]:
    """Every observable result of ``case`` on ``module``; raises Foreign for a foreign exception."""
    steps: list[tuple[Any, ...]] = []
    with active(module):
        try:
            RUNNERS[case.mode](case, steps)
        except AllmError as error:  # raised outside a step: building the decoder
            steps.append(("setup", error_value(error)))
        except Foreign:
            raise
        except BaseException as error:
            raise foreign("setup", error) from error
    return steps


def shown(text: str, limit: int = SHOWN) -> str:
    """``text`` cut in the middle to about ``limit`` characters."""
    return text if len(text) <= limit else text[: limit // 2] + " ... " + text[-limit // 2 :]


def panic(steps: list[tuple[Any, ...]]) -> str | None:
    """The step where the native module reported an internal error (a caught panic), if any."""
    for where, value in steps:
        if "internal error in allm._native" in repr(value):
            return str(where)
    return None


def first_difference(native: list[tuple[Any, ...]], pure: list[tuple[Any, ...]]) -> Finding | None:
    for i in range(max(len(native), len(pure))):
        a = native[i] if i < len(native) else ("missing", None)
        b = pure[i] if i < len(pure) else ("missing", None)
        if a != b:
            where = a[0].split("#")[0] if a[0] == b[0] else f"{a[0]}|{b[0]}"
            what = describe(a[1], b[1])
            return Finding("disagreement", f"{where}{what}", f"at {a[0]}", repr(a[1]), repr(b[1]))
    return None


def describe(a: Any, b: Any) -> str:
    """Which part differs: a Response field, an event type, or the whole value."""
    if isinstance(a, allm.Response) and isinstance(b, allm.Response):
        for f in fields(a):
            if getattr(a, f.name) != getattr(b, f.name):
                return f".{f.name}"
    if isinstance(a, list) and isinstance(b, list):
        for x, y in zip(cast("list[object]", a), cast("list[object]", b), strict=False):
            if x != y:
                return f".{getattr(x, 'type', type(x).__name__)}"
        return ".length"
    if ("raised",) in (a[:1] if isinstance(a, tuple) else (), b[:1] if isinstance(b, tuple) else ()):
        return ".raised"
    return ""


def judge(case: Case, native: ModuleType, pure: ModuleType) -> Finding | None:
    """Run ``case`` on both backends; the first problem found, or None."""
    results: dict[str, list[tuple[Any, ...]]] = {}
    for name, module in (("native", native), ("pure", pure)):
        try:
            results[name] = run(case, module)
        except Foreign as exc:
            detail = f"{name}: {type(exc.error).__name__}: {shown(str(exc.error))}"
            where = f"{name}.{exc.where.split('#')[0]}.{type(exc.error).__name__}"
            return Finding("foreign", where, detail)
    panicked = panic(results["native"])
    if panicked is not None:
        return Finding("panic", panicked.split("#")[0], shown(repr(results["native"])))
    return first_difference(results["native"], results["pure"])
