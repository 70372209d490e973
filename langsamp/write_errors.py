"""Which errors of writing a file mean the disk is full: one test for every writer (safetensors, torch.save, json)."""

import errno


def is_write_failure(error: BaseException) -> bool:
    """An error of writing a file: OSError (json, shutil), safetensors' SafetensorError (its I/O errors carry no
    errno), torch.save's RuntimeError (`PytorchStreamWriter failed writing file`, `unexpected pos ...`)."""
    return isinstance(error, (OSError, RuntimeError)) or type(error).__name__ == "SafetensorError"


def disk_full(error: BaseException | None) -> bool:
    """ENOSPC or EDQUOT anywhere in the chain, as an errno or in the text (safetensors: `... (os error 28)`)."""
    codes = (errno.ENOSPC, errno.EDQUOT)
    while error is not None:
        text = str(error)
        if getattr(error, "errno", None) in codes or any(f"os error {code})" in text for code in codes):
            return True
        if "No space left on device" in text or "Disk quota exceeded" in text:
            return True
        error = error.__cause__ or error.__context__
    return False
