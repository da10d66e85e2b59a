"""Tell the app the moment its server is asked to stop, so that long requests end at once.

uvicorn stops on SIGTERM or SIGINT in three steps: it stops accepting connections, waits for
the requests in flight (up to its graceful timeout), and only then runs the lifespan's
shutdown. A long poll of the events feed (`wait`, up to a minute) or an event stream would hold
the second step for its whole wait, then be cancelled with an error in the log, and the pod
would be killed late. uvicorn tells the app nothing before the third step, so the lifespan
chains a callback to the handler uvicorn installed for those signals: the long requests answer
what they have (a cursor that resumes where they stopped) and the drain takes milliseconds.

Only uvicorn's own handler is chained: under a test runner, another server or a thread, the
signal handlers are left alone and nothing is ever announced.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _is_uvicorns(handler: Any) -> bool:
    owner = getattr(handler, "__self__", None)
    return type(owner).__module__.startswith("uvicorn.") and callable(handler)


def on_exit_signal(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` on the running loop when uvicorn is told to stop; returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    chained: dict[int, tuple[Any, Any]] = {}
    for sig in SIGNALS:
        previous = signal.getsignal(sig)
        if not _is_uvicorns(previous):
            continue

        def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            # A signal handler runs between two bytecodes of whatever the loop was doing: hand
            # the callback to the loop rather than run it here.
            loop.call_soon_threadsafe(callback)
            previous(signum, frame)

        signal.signal(sig, handler)
        chained[sig] = (handler, previous)

    def undo() -> None:
        for sig, (handler, previous) in chained.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, previous)

    return undo


__all__ = ["SIGNALS", "on_exit_signal"]
