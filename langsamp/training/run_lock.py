"""One train.py run per --output_dir: a second run started into a folder a live run is writing stops with one line
naming that run, instead of both writing checkpoints, the run record and the final model over each other.

The lock is an OS file lock (`filelock`: flock on Unix, LockFileEx on Windows), which the operating system releases
when its process ends, however it ends: a run killed with SIGKILL leaves no lock that blocks the next one. Who holds
it is written next to it (pid, host, start time), for the refusal's message. Both files start with `_`: the Trainer
uploads output_dir with the ignore pattern `_*`, so neither reaches the Hub, and neither is inside a `checkpoint-N`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
from datetime import datetime
from pathlib import Path

from filelock import FileLock, Timeout

logger = logging.getLogger(__name__)

LOCK_NAME = "_langsamp_train.lock"
OWNER_NAME = "_langsamp_train.json"  # the holder's pid, host, start time and command


class OutputDirInUse(ValueError):
    """Another live run holds the lock of this output_dir."""


class RunLock:
    """The lock of one output_dir, held from `acquire` until `release` (or the process's end).

    `enabled=False` (every process but the one that saves, under torchrun / accelerate) makes it a no-op: the ranks
    of one run share the folder, and the saving rank's lock stands for all of them.
    """

    def __init__(self, output_dir: str | os.PathLike, enabled: bool = True):
        self.folder = Path(output_dir)
        self.enabled = enabled
        self._lock = FileLock(str(self.folder / LOCK_NAME), timeout=0)
        self._created = False  # acquire made the folder

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def acquire(self, create: bool = True) -> None:
        """Take the lock (creating output_dir unless `create` is false: then only a folder that exists is locked).
        Raises OutputDirInUse, naming the holder, when another process holds it."""
        if not self.enabled or self.held or (not create and not self.folder.is_dir()):
            return
        self._created = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            raise OutputDirInUse(refusal(self.folder)) from None
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": [str(part) for part in sys.argv],
        }
        (self.folder / OWNER_NAME).write_text(json.dumps(owner, indent=2) + "\n")

    def release(self) -> None:
        if not self.held:
            return
        (self.folder / OWNER_NAME).unlink(missing_ok=True)
        self._lock.release()
        if self._created:  # a run stopped by bad input found in the data step leaves no folder behind
            with contextlib.suppress(OSError):
                if {path.name for path in self.folder.iterdir()} <= {LOCK_NAME}:
                    (self.folder / LOCK_NAME).unlink(missing_ok=True)
                    self.folder.rmdir()

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def refusal(folder: Path) -> str:
    """The one line for a run refused because another one holds `folder`."""
    try:
        owner = json.loads((folder / OWNER_NAME).read_text())
        holder = f"pid {owner['pid']} on {owner['host']}, started {owner['started']}"
    except (OSError, ValueError, KeyError, TypeError):  # the holder has not written it yet
        holder = f"its pid, host and start time are not in {folder / OWNER_NAME} yet"
    return (
        f"--output_dir {folder} is in use by another train.py run ({holder}): wait for it to end, or choose another "
        "--output_dir."
    )
