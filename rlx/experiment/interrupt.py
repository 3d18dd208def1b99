"""Ctrl-C during training stops at a chunk boundary, never inside a checkpoint save.

A KeyboardInterrupt raised wherever the main thread happens to be lands, most of the time, inside
orbax's wait for its asynchronous save threads: the save is cut short and absl logs a traceback
per thread. So while the loop runs, SIGINT only asks it to stop: the loop lets its sinks take the
chunk being trained (rows, checkpoint), waits for the save to finish, then raises KeyboardInterrupt,
which the CLI turns into one line and status 130. The folder then resumes from that chunk.

A second Ctrl-C while a chunk trains stops at once (the chunk is dropped; the previous checkpoint
is still finished before the loop ends). Nothing is installed outside the main thread or over a
handler that is not Python's default (a shell that started the run with SIGINT ignored, a host
application with its own handler).
"""

from __future__ import annotations

import contextlib
import signal
import threading


class Interrupts:
    """``with Interrupts() as interrupts:`` around a loop; ``interrupts.requested`` after a Ctrl-C,
    ``with interrupts.deferred():`` around work a Ctrl-C must never cut (the sinks, the last save)."""

    def __init__(self):
        self.requested = False
        self._deferring = False
        self._previous = None

    def __enter__(self) -> Interrupts:
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False

    def _handle(self, signum, frame):
        if self.requested and not self._deferring:
            raise KeyboardInterrupt
        self.requested = True

    @contextlib.contextmanager
    def deferred(self):
        deferring, self._deferring = self._deferring, True
        try:
            yield
        finally:
            self._deferring = deferring
