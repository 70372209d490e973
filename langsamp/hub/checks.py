"""Checks of an export's or a run's arguments that need no model: source paths, the output folder, the Hub."""

from __future__ import annotations

import os
import re
from pathlib import Path

from huggingface_hub import constants, snapshot_download


def check_source(value: str, flag: str) -> None:
    """A checkpoint argument must be an existing folder or a Hub repo id: a clear error for a missing or wrong
    local path (transformers would call it a malformed repo id, or go to the network for it)."""
    path = Path(value).expanduser()
    if path.is_file():
        raise ValueError(f"{flag} {value} is a file: pass the folder that holds it (with config.json and the weights).")
    if path.is_dir():
        return
    if value.startswith(("/", ".", "~")) or not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", value):
        raise FileNotFoundError(f"{flag} {value}: no such folder (a Hub repo id looks like `user/name`).")
    if constants.HF_HUB_OFFLINE:
        try:  # a repo in the local Hub cache loads offline
            snapshot_download(value, local_files_only=True)
        except Exception as error:  # LocalEntryNotFoundError, or a malformed id
            raise FileNotFoundError(
                f"{flag} {value}: no such folder, and HF_HUB_OFFLINE is set, so it cannot be a Hub repo (none is "
                "cached)."
            ) from error


def check_output_dir(value: str | os.PathLike, flag: str = "--output_dir", overwrite: bool = False) -> None:
    """Fail before any expensive work when `value` cannot become an output folder (a file, under a file, not
    writable) or, unless `overwrite`, already holds files."""
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{flag} {value} is a file, not a folder: choose another path.")
    if path.is_dir() and not overwrite and any(path.iterdir()):
        raise FileExistsError(
            f"{flag} {value} already holds files: pass --overwrite to replace them, or choose an empty folder."
        )
    existing = path
    while not existing.exists():  # the nearest existing folder above is where it will be created
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(f"{flag} {value}: {existing} is a file, so no folder can be created there.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"{flag} {value}: {existing} is not writable.")


def check_hub_push(repo_id: str, folder: str | os.PathLike) -> None:
    """Before anything loads or is written: the Hub must answer and accept the token (`whoami`), else the folder would
    be written and the push fail after it. Returns the account name."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, LocalTokenNotFoundError, OfflineModeIsEnabled

    later = f"or export without --push_to_hub and upload the folder later with `hf upload {repo_id} {folder}`"
    if constants.HF_HUB_OFFLINE:  # said first: a missing token is beside the point then
        raise ValueError(
            f"--push_to_hub {repo_id}: HF_HUB_OFFLINE is set, so nothing can be uploaded: unset it, {later}."
        )
    try:
        return HfApi().whoami()["name"]
    except OfflineModeIsEnabled as error:
        raise ValueError(
            f"--push_to_hub {repo_id}: HF_HUB_OFFLINE is set, so nothing can be uploaded: unset it, {later}."
        ) from error
    except LocalTokenNotFoundError as error:
        raise ValueError(
            f"--push_to_hub {repo_id}: no Hub token: log in with `hf auth login` or set HF_TOKEN (a write token), "
            f"{later}."
        ) from error
    except HfHubHTTPError as error:
        status = getattr(error.response, "status_code", None)
        raise ValueError(
            f"--push_to_hub {repo_id}: the Hub refused the token (HTTP {status}): set HF_TOKEN to a valid write "
            f"token, {later}."
        ) from error
    except Exception as error:  # a refused or timed-out connection (httpx / requests errors)
        raise ValueError(
            f"--push_to_hub {repo_id}: the Hub ({constants.ENDPOINT}) is unreachable ({type(error).__name__}): check "
            f"the network or HF_ENDPOINT, {later}."
        ) from error


def masked_lm_architecture(model: str | os.PathLike) -> None:
    """Refuse a checkpoint that is not a masked LM (a fine-tuned classifier, a bare encoder): exporting it as a
    fill-mask
    model would drop its head and write a random LM head. Reads config.json only."""
    from transformers import PretrainedConfig

    try:
        architectures = PretrainedConfig.get_config_dict(model)[0].get("architectures") or []
    except OSError as error:
        raise ValueError(f"--model {model}: {str(error).splitlines()[0]}") from error
    others = [name for name in architectures if not name.endswith("ForMaskedLM")]
    if others:
        raise ValueError(
            f"--model {model} is a {', '.join(others)} checkpoint, not a masked LM: export.py writes fill-mask models "
            "and would replace its head by a random LM head. A fine-tuned model is already Hub-ready: "
            "`model.save_pretrained(folder)` writes the code files too (load it with its Auto class and "
            "trust_remote_code)."
        )
