"""A cross-process lock on a file (flock): released by the kernel when its process dies."""

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from wiki.errors import RepositoryBusy


@contextmanager
def file_lock(path: Path, timeout: float):
    """Hold an exclusive lock on `path`, waiting up to `timeout` seconds (RepositoryBusy)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RepositoryBusy() from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
