"""The background indexer: one thread per web worker that brings the search index up to the
catalog after saves, so a save returns before Whoosh commits (issue 11: a Whoosh commit costs
20–50 ms, a save's budget is 50 ms).

Correctness never depends on this thread. Every search first catches the index up to HEAD
itself (`Index.search_with`), under the same cross-process lock, so a page is findable by the
very next search in any process, whether or not this thread got there first. What the thread
adds: the Whoosh commit leaves the save's request, a burst of saves becomes one commit, and,
being off the request path, it merges the small segments each commit leaves (a live index
stays at a few segments instead of up to eight).

Only long-lived processes use it (the web app). A short-lived process (the command line, git's
push hook) indexes inside the save: a daemon thread dies with its process and would leave the
work to the next search.
"""

import atexit
import logging
import os
import threading
import time
import weakref

log = logging.getLogger(__name__)

# Page texts the saves already read, handed to the thread so it need not read them from git
# again. Bounded: a burst beyond this leaves the rest to `git cat-file` (cheap), not memory.
MAX_HINT_CHARS = 4_000_000
# An idle thread ends after this long and starts again at the next save: a process that
# stops saving (or a test's app that is thrown away) keeps no thread and no reference.
IDLE_SECONDS = 30.0
# After a save wakes it, the thread waits this long before indexing: the request that saved
# is still answering (the thread would take turns with it for the interpreter lock), and
# saves that follow within it join the same Whoosh commit.
SETTLE_SECONDS = 0.05
EXIT_WAIT_SECONDS = 10.0  # a worker that exits (restart, shutdown) first finishes its commit


def _flush_at_exit(indexer: "weakref.ref[BackgroundIndexer]") -> None:
    # A daemon thread is stopped wherever it is when the interpreter exits; the index would
    # be right anyway (the next search catches up), but a stopped commit leaves files behind.
    alive = indexer()
    if alive is not None:
        alive.flush(EXIT_WAIT_SECONDS)


class BackgroundIndexer:
    def __init__(self, index):
        self.index = index  # wiki.search.index.Index
        self._pid: int | None = None

    def _state(self) -> None:
        """Fresh thread state, made in the process that uses it: a worker forked from a
        process that had one inherits a copy of its lock (perhaps held) and a thread object
        whose thread does not exist in the child."""
        self._pid = os.getpid()
        atexit.register(_flush_at_exit, weakref.ref(self))
        self._cond = threading.Condition()
        self._hints: dict[str, str] = {}
        self._hint_chars = 0
        self._pending = False  # a change arrived that the thread has not picked up yet
        self._working = False  # the thread is indexing what it picked up
        self._thread: threading.Thread | None = None

    def note(self, hints: dict[str, str]) -> None:
        """A change is in git: index it soon (`hints`: blob id -> page text, already read)."""
        if self._pid != os.getpid():
            self._state()
        with self._cond:
            for blob, text in hints.items():
                if blob not in self._hints and self._hint_chars + len(text) <= MAX_HINT_CHARS:
                    self._hints[blob] = text
                    self._hint_chars += len(text)
            self._pending = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="kennis-search-indexer",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every change noted so far is indexed (or the thread gave up on it);
        False when `timeout` passed first. For tests and tools that read `recorded()`."""
        if self._pid != os.getpid():
            return True  # nothing was noted in this process
        with self._cond:
            return self._cond.wait_for(
                lambda: not (self._pending or self._working) or self._thread is None
                or not self._thread.is_alive(), timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._pending, IDLE_SECONDS):
                    self._thread = None  # `note` starts another one, under this same lock
                    self._cond.notify_all()
                    return
            time.sleep(SETTLE_SECONDS)
            with self._cond:
                hints, self._hints, self._hint_chars = self._hints, {}, 0
                self._pending, self._working = False, True
            try:
                self.index.ensure_current(hints, tidy=True)
            except Exception:
                # The commits are made; the recorded commit stays behind and the next
                # search (or the next save) catches up.
                log.exception("the search index could not catch up")
            finally:
                with self._cond:
                    self._working = False
                    self._cond.notify_all()
