"""One deadline for a whole answer, enforced even while no token arrives.

A model call runs in a worker thread that hands its pieces over a queue; the caller
waits on the queue for at most the time left. So a server that accepts the request
and then says nothing for minutes cannot hold the answer past the deadline, and the
condense call and the answer call share one budget. An abandoned worker stops at its
next piece (it closes its own stream) or at the backend's read timeout; the caller
never waits for it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0


class DeadlineExceeded(Exception):
    """The deadline passed before the source finished."""


def within(
    source: Callable[[], Iterator[T]], deadline: Deadline, *, on_abandoned_finish: Callable[[], None] | None = None
) -> Iterator[T]:
    """Items of `source()`, produced in a worker thread, until the deadline.

    Raises DeadlineExceeded when it passes (the worker is told to stop and left to
    finish alone); re-raises the worker's own exception otherwise. If the caller gives
    up on the worker (deadline, or it stops iterating), `on_abandoned_finish` runs in the
    worker once it has stopped: it releases the model-call slot the worker still held.
    """
    handoff: queue.Queue = queue.Queue()
    cancelled = threading.Event()

    def work() -> None:
        iterator = None
        try:
            iterator = source()
            for item in iterator:
                if cancelled.is_set():
                    break
                handoff.put((True, item))
            handoff.put((True, _DONE))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            handoff.put((False, exc))
        finally:
            close = getattr(iterator, "close", None)
            if cancelled.is_set() and callable(close):
                try:
                    close()
                except Exception:  # noqa: BLE001 - the caller has gone
                    pass
            if cancelled.is_set() and on_abandoned_finish is not None:
                on_abandoned_finish()

    threading.Thread(target=work, name="answer-worker", daemon=True).start()
    finished = False
    try:
        while True:
            left = deadline.remaining()
            if left <= 0:
                raise DeadlineExceeded
            try:
                ok, item = handoff.get(timeout=left)
            except queue.Empty:
                raise DeadlineExceeded from None
            if not ok:
                finished = True
                raise item
            if item is _DONE:
                finished = True
                return
            yield item
    finally:
        if not finished:
            cancelled.set()
