"""Time bounds on tests that Airflow cannot switch off.

pytest-timeout's signal method arms SIGALRM, and so does Airflow: parsing a DAG file (``dag.test()`` does) runs
under its import timeout, which sets its own SIGALRM handler and then zeroes the timer, so a hung ``dag.test()``
would never be stopped. Here a watchdog thread keeps the time instead and, once it has passed, sends SIGUSR1 to the
main thread, whose handler fails the test (``pytest.fail``). Airflow's task runner may take that for the task's own
failure and finish the run; the test fails all the same when the block ends. The other threads' stacks go to
stderr first, and the test's traceback shows where the main thread was. pytest-timeout stays as the last resort
(``thread`` method: it dumps every stack and ends the run).
"""

from __future__ import annotations

import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

TEST_TIMEOUT = 300.0  # any one test, fixtures included; the slowest (example DAGs) take about 40 s here
SIGNAL = signal.SIGUSR1
RESEND_SECONDS = 5.0  # should the failure be caught on its way out (a task runner), it is raised again
_expired: list[str] = []  # the messages of the deadlines that have passed, innermost last


def _fail_expired(signum: int, frame: Any) -> None:
    if _expired:
        pytest.fail(_expired[-1], pytrace=True)


def install() -> None:
    """Install the handler (from the main thread, once per session)."""
    signal.signal(SIGNAL, _fail_expired)


def _dump_other_threads(title: str) -> None:
    main = threading.main_thread().ident
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    lines = [f"\n{title}; the stacks of the other threads:\n"]
    for ident, frame in sys._current_frames().items():
        if ident not in (main, threading.get_ident()):
            lines += [f"--- thread {names.get(ident, ident)}\n", *traceback.format_stack(frame)]
    sys.stderr.write("".join(lines))


@contextmanager
def deadline(seconds: float, what: str, *, fail_late: bool = True) -> Iterator[None]:
    """Fail the test if the block runs longer than ``seconds``; ``what`` names it in the failure. With
    ``fail_late``, a block that overran yet ended normally (the failure was caught inside it) fails on exit."""
    message = f"{what} ran over its bound of {seconds:g} s"
    done = threading.Event()
    main = threading.main_thread().ident
    assert main is not None

    def watch() -> None:
        if done.wait(seconds):
            return
        _dump_other_threads(message)
        _expired.append(message)
        while not done.is_set():
            signal.pthread_kill(main, SIGNAL)
            done.wait(RESEND_SECONDS)

    watcher = threading.Thread(target=watch, name=f"deadline of {what}", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join(timeout=RESEND_SECONDS)
        overran = message in _expired
        if overran:
            _expired.remove(message)
    if overran and fail_late:  # the failure was swallowed on its way out, and the block then ended
        pytest.fail(message, pytrace=False)
