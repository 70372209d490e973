"""The training step's large blocks stay in glibc's heap: a block the size of the demo's embedding gradient is not
mapped afresh (and faulted in page by page) every time it is allocated, and train.py's main sets this up."""

import json
import platform
import subprocess
import sys

import pytest

from langsamp.training import allocator, cli

GLIBC = platform.libc_ver()[0] == "glibc"

# A fresh interpreter (malloc's settings are per process): allocate and free a 384 MB block (250,002 x 384 fp32, the
# demo's embedding gradient) twice, and report the bytes mmapped for it (mallinfo2) and the minor page faults
# of the second round.
PROBE = """
import ctypes, json, resource, sys
from langsamp.training.allocator import keep_large_blocks
done = keep_large_blocks() if sys.argv[1] == "on" else None
libc = ctypes.CDLL(None)
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
size = 250002 * 384 * 4
def touch_round():
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)  # as a gradient is written
    mapped = libc.mallinfo2().hblkhd - before
    libc.free(block)
    return mapped
touch_round()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
mapped = touch_round()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
print(json.dumps({"done": done, "mapped": mapped, "faults": faults}))
"""


def probe(setting):
    completed = subprocess.run([sys.executable, "-c", PROBE, setting], capture_output=True, text=True, check=True)
    return json.loads(completed.stdout)


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_a_freed_embedding_sized_block_is_reused_not_faulted_in_again():
    # 384 MB in 4 KiB pages is 93,751 pages: glibc's default maps the block afresh each round, so the second round
    # faults in every page again; with the thresholds raised it reuses the heap's pages (a few faults at most).
    pages = 250002 * 384 * 4 // 4096
    stock, kept = probe("off"), probe("on")
    assert stock["mapped"] >= 250002 * 384 * 4 and stock["faults"] > 0.9 * pages
    assert kept["done"] is True
    assert kept["mapped"] == 0 and kept["faults"] < 0.01 * pages


def test_the_users_own_malloc_settings_win(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert allocator.keep_large_blocks() is False


def test_not_glibc_is_a_no_op(monkeypatch, caplog):
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("", ""))
    with caplog.at_level("DEBUG", logger=allocator.__name__):
        assert allocator.keep_large_blocks() is False
    assert "not glibc" in caplog.text


def test_train_main_keeps_large_blocks_before_anything_else(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "keep_large_blocks", lambda: calls.append(True))
    with pytest.raises(cli.BadInput):  # an unknown flag: the parser stops the run right after the call
        cli.main(["--no_such_flag"])
    assert calls == [True]
