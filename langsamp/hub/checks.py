"""Checks of an export's or a run's arguments that need no model: source paths, the output folder, the Hub."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from huggingface_hub import constants, snapshot_download

# peft task types and the Auto class a merged adapter of that type loads with
ADAPTER_HEADS = {
    "SEQ_CLS": "AutoModelForSequenceClassification",
    "TOKEN_CLS": "AutoModelForTokenClassification",
    "QUESTION_ANS": "AutoModelForQuestionAnswering",
    "FEATURE_EXTRACTION": "AutoModel",
}


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


def check_not_adapter(value: str, flag: str) -> None:
    """A peft adapter folder (adapter_config.json, no full weights) is not a checkpoint: one line on what to do,
    before transformers would load the adapter's base in its place."""
    config_path = Path(value).expanduser() / "adapter_config.json"
    if not config_path.is_file():
        return
    try:
        adapter = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        adapter = {}
    base = adapter.get("base_model_name_or_path") or "BASE"
    auto = ADAPTER_HEADS.get(adapter.get("task_type"), "AutoModelForMaskedLM")
    merge = (
        f"`PeftModel.from_pretrained({auto}.from_pretrained({base!r}, trust_remote_code=True), {value!r})"
        ".merge_and_unload().save_pretrained(MERGED)`"
    )
    if auto == "AutoModelForMaskedLM":
        fix = f"merge it into its base first, {merge}, and export MERGED; or export the base itself ({flag} {base})"
    else:  # a task head: the merged model is no masked LM, and save_pretrained already makes it Hub-ready
        fix = (
            f"a {adapter.get('task_type')} adapter merges into a task model that needs no export: {merge} writes a "
            f"Hub-ready folder; or export the base masked LM ({flag} {base})"
        )
    raise ValueError(f"{flag} {value} is a peft adapter (adapter_config.json), not a full checkpoint: {fix}.")


def check_free_space(model: Any, output_dir: str | os.PathLike) -> None:
    """Refuse before writing when the output's disk cannot hold the weights (twice: the folder is staged beside it
    and an --overwrite'd one is removed only at the end)."""
    existing = Path(output_dir).expanduser().resolve()
    while not existing.exists():
        existing = existing.parent
    needed = sum(p.numel() * p.element_size() for p in model.parameters())
    free = shutil.disk_usage(existing).free
    if free < needed * 1.1:
        raise OSError(
            f"--output_dir {output_dir}: {free / 2**20:.0f} MiB free on its disk, the weights need "
            f"{needed / 2**20:.0f} MiB: free some space or choose another disk."
        )
