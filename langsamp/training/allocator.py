"""Keep the training step's large blocks in the C heap instead of handing them back to the kernel every step.

glibc's malloc serves a block above its mmap threshold (at most 32 MiB by default) with a fresh `mmap` and returns it
with `munmap` when it is freed. A training step allocates and frees several blocks the size of the vocabulary-sized
embedding (250,002 x hidden fp32: 384 MB at 384 wide, 768 MB for XLM-R base) -- its gradient, the LM head's
gradient pieces, the optimizer's temporaries -- so every step maps them afresh and the kernel zero-fills them page by
page: on the demo a fifth of the process's CPU time went to the kernel, in ~400,000 page faults a step.

Raising the mmap threshold above those blocks makes malloc serve them from its heap, where a freed block is reused by
the next step. The heap's top is still given back to the kernel (trimmed) when more than the trim threshold of it is
free, so memory a run stops needing does not stay held forever; glibc's own rule, when it raises the threshold
itself, is trim = 2 x mmap threshold. `mallopt` sets both at run time (environment variables would have to be set
before the process starts); where the C library is not glibc, or the user set glibc's malloc variables, nothing is
changed.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform

logger = logging.getLogger(__name__)

# mallopt's parameter numbers (glibc malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

# Above the largest per-step block of XLM-R large (250,002 x 1024 fp32 = 1.02 GB); mallopt takes a C int.
MMAP_THRESHOLD_BYTES = 1536 * 2**20
# glibc's own rule would be 2 x the mmap threshold, past a C int: the largest an int holds (2 GiB - 1).
TRIM_THRESHOLD_BYTES = 2**31 - 1

# The user's own glibc malloc settings win: they were set before the process started, on purpose.
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_MAX_", "MALLOC_TOP_PAD_")


def keep_large_blocks(mmap_threshold: int = MMAP_THRESHOLD_BYTES, trim_threshold: int = TRIM_THRESHOLD_BYTES) -> bool:
    """Raise glibc malloc's mmap and trim thresholds for this process; True if both were set. A no-op (with a debug
    log) where the C library is not glibc or the environment already sets glibc's malloc parameters."""
    libc_name, _ = platform.libc_ver()
    if libc_name != "glibc":
        logger.debug("C library %r is not glibc: its malloc settings are left as they are.", libc_name or "unknown")
        return False
    user = [name for name in USER_SETTINGS if name in os.environ]
    if user or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        logger.debug("glibc malloc settings come from the environment (%s): left as they are.", user or "tunables")
        return False
    libc = ctypes.CDLL(None)
    done = libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 and libc.mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1
    if done:
        logger.debug("glibc malloc: mmap threshold %d bytes, trim threshold %d bytes.", mmap_threshold, trim_threshold)
    else:
        logger.debug(
            "glibc's mallopt refused the thresholds (%d, %d): left as they are.", mmap_threshold, trim_threshold
        )
    return done
