"""Write a Hub-ready LangSAMP folder: safetensors weights, config with `auto_map`, tokenizer files, the
remote-code modules and `model_card.md` rendered as README.md. One call: `save_for_hub(model, tokenizer, folder)`.

CLI (also converts stock XLM-R and the authors' release format into this package's format):

    python export.py --model PATH_OR_REPO --output_dir DIR [--tokenizer PATH_OR_REPO] [--push_to_hub USER/NAME]
    [--overwrite]

Bad input (a missing path, a folder that is not a masked-LM checkpoint, a non-empty --output_dir without
--overwrite, a --push_to_hub the Hub cannot take: offline, no token, unreachable, ...) ends in ONE line
`export.py: error: ...` and exit status 2, before anything is written. A push that fails after the folder is written
says so in one line (exit 2) with the command that retries the upload alone.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData, constants, snapshot_download
from huggingface_hub.utils import validate_repo_id

from langsamp.command_name import command_name

# The remote-code modules are top-level modules: the root of a checkout, or site-packages once installed.
REMOTE_CODE_DIR = Path(importlib.util.find_spec("modeling_langsamp").origin).resolve().parent
# The model card template: beside them in a checkout; under <prefix>/share/langsamp/ once installed (pyproject.toml).
MODEL_CARD_PLACES = (
    REMOTE_CODE_DIR,
    REMOTE_CODE_DIR / "share" / "langsamp",  # pip install --target DIR
    Path(sysconfig.get_path("data")) / "share" / "langsamp",
    Path(sysconfig.get_path("data", f"{os.name}_user")) / "share" / "langsamp",
)
# The modules that travel with every checkpoint (what trust_remote_code imports).
REMOTE_CODE_FILES = (
    "configuration_langsamp.py",
    "modeling_langsamp.py",
    "tokenization_langsamp.py",
    "langsamp_codes.py",
    "langsamp_inventory.py",
)


XLMR_VOCAB_SIZE = 250002


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


def push_folder(repo_id: str, folder: str | os.PathLike) -> Any:
    """Upload a written folder with huggingface_hub; a failure is one line that says the folder is kept and how to
    retry."""
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        api.create_repo(repo_id, exist_ok=True)
        return api.upload_folder(repo_id=repo_id, folder_path=folder)
    except Exception as error:  # network, permissions, quota: the folder on disk is complete either way
        reason = " ".join(str(error).split())[:300]
        raise RuntimeError(
            f"the Hub-ready folder {folder} is written, but the push to {repo_id} failed ({type(error).__name__}: "
            f"{reason}). Retry the upload alone with `hf upload {repo_id} {folder}` (huggingface_hub's upload_folder)."
        ) from error


def copy_remote_code(folder: str | os.PathLike) -> None:
    """Copy the remote-code modules into `folder` (the Trainer's own pushes leave them out)."""
    for name in REMOTE_CODE_FILES:
        shutil.copyfile(REMOTE_CODE_DIR / name, Path(folder) / name)


def model_card_template() -> Path:
    """Path of model_card.md, the template every Hub folder's README.md is rendered from."""
    for folder in MODEL_CARD_PLACES:
        if (folder / "model_card.md").is_file():
            return folder / "model_card.md"
    raise FileNotFoundError(
        f"model_card.md is in none of {', '.join(map(str, MODEL_CARD_PLACES))}: reinstall the package (`pip install .` "
        "from a clone installs it under <prefix>/share/langsamp/)."
    )


def render_model_card(config: Any, card_metadata: dict | None = None, repo_id: str | None = None) -> ModelCard:
    """model_card.md rendered with the run's metadata; returns a huggingface_hub ModelCard."""
    meta = dict(card_metadata or {})
    languages = list(meta.get("languages") or config.languages)
    base_model = meta.get("base_model")
    data = ModelCardData(
        language=sorted({code.split("_")[0] for code in languages}),
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="fill-mask",
        base_model=base_model,
        tags=["langsamp", "xlm-roberta", "multilingual", "custom_code"],
    )
    return ModelCard.from_template(
        data,
        template_path=str(model_card_template()),
        model_name=meta.get("model_name") or (repo_id or "LangSAMP").split("/")[-1],
        repo_id=repo_id or "path/to/this/folder",
        base_model=base_model,
        corpus=meta.get("corpus"),
        num_languages=len(languages),
        languages_preview=", ".join(languages[:12]) + (", ..." if len(languages) > 12 else ""),
        steps=meta.get("steps"),
        final_loss=meta.get("final_loss"),
        num_table_languages=len(config.languages),
        num_table_scripts=len(config.scripts),
        hidden_size=config.hidden_size,
        use_tables=config.use_lang_embedding or config.use_script_embedding,
        extra=meta.get("extra"),
        run_parts=meta.get("run_parts"),
    )


def save_for_hub(
    model: Any, tokenizer: Any, folder: str | os.PathLike, card_metadata: dict | None = None, repo_id: str | None = None
) -> Path:
    """Write everything a `trust_remote_code` user needs into `folder`; returns it as a Path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)  # safetensors; config.json carries auto_map for every Auto class
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    copy_remote_code(folder)
    render_model_card(model.config, card_metadata, repo_id).save(folder / "README.md")
    return folder


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


def load_export_inputs(args: argparse.Namespace) -> tuple[Any, Any]:
    """The model and tokenizer to export, every argument checked first (cheapest first)."""
    check_source(args.model, "--model")
    if args.tokenizer:
        check_source(args.tokenizer, "--tokenizer")
    output = Path(args.output_dir).expanduser().resolve()
    for flag, source in (("--model", args.model), ("--tokenizer", args.tokenizer)):
        source_path = Path(source).expanduser().resolve() if source else None
        if source_path and source_path.exists() and output in (source_path, *source_path.parents):
            raise ValueError(
                f"--output_dir {args.output_dir} holds {flag} {source}: writing there would replace it; choose "
                "another folder."
            )
    check_output_dir(args.output_dir, overwrite=args.overwrite)
    if args.push_to_hub:
        try:
            validate_repo_id(args.push_to_hub)
        except ValueError as error:
            raise ValueError(f"--push_to_hub {args.push_to_hub}: {error}") from error
        check_hub_push(args.push_to_hub, args.output_dir)
    masked_lm_architecture(args.model)

    from modeling_langsamp import LangSAMPForMaskedLM
    from tokenization_langsamp import LangSAMPTokenizer

    try:
        model, info = LangSAMPForMaskedLM.from_pretrained(args.model, output_loading_info=True)
    except OSError as error:  # no weights, a Hub repo that does not exist, ...
        raise OSError(f"--model {args.model}: {error}") from error
    no_head = sorted(key for key in info["missing_keys"] if key.startswith("lm_head."))
    if no_head:
        raise ValueError(
            f"--model {args.model} has no masked-LM head ({', '.join(no_head[:3])} missing): it is not a masked LM."
        )
    try:
        tokenizer = LangSAMPTokenizer.from_pretrained(args.tokenizer or args.model)
    except (OSError, ValueError) as error:
        if args.tokenizer:
            raise ValueError(f"--tokenizer {args.tokenizer}: {error}") from error
        if model.config.vocab_size != XLMR_VOCAB_SIZE:
            raise ValueError(
                f"--model {args.model} has no tokenizer files and its {model.config.vocab_size}-row vocabulary is not "
                "XLM-R's: pass --tokenizer with the tokenizer it was trained with."
            ) from error
        from langsamp.resources.xlmr_tokenizer import default_tokenizer

        tokenizer = default_tokenizer("--tokenizer")
        print(
            f"{args.model} has no tokenizer files: exporting XLM-R's ({len(tokenizer)} pieces, the model's vocabulary "
            "size); pass --tokenizer to choose another."
        )
    if len(tokenizer) != model.config.vocab_size:
        raise ValueError(
            f"The tokenizer has {len(tokenizer)} pieces but the model {model.config.vocab_size} embedding rows: pass "
            "--tokenizer with the tokenizer the model was trained with."
        )
    for name in ("languages", "scripts"):
        if list(getattr(tokenizer, name)) != list(getattr(model.config, name)):
            raise ValueError(
                f"The tokenizer's {name} differ from the model's: its ids would index the wrong rows. Pass --tokenizer "
                "with the tokenizer the model was trained with."
            )
    tokenizer.trained_pairs = model.config.trained_pairs  # the checkpoint's own record is the one that counts
    return model, tokenizer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=command_name("export.py"),
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # a misspelt flag is refused, not taken as the one it starts
    )
    parser.add_argument(
        "--model", required=True, help="a LangSAMP, stock XLM-R (masked LM) or release-format checkpoint"
    )
    parser.add_argument(
        "--tokenizer", help="XLM-R tokenizer folder or repo (default: --model's, else the offline XLM-R one)"
    )
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--overwrite", action="store_true", help="replace what a non-empty --output_dir holds")
    parser.add_argument("--push_to_hub", metavar="REPO_ID", help="also upload the folder to this Hub repo")
    args = parser.parse_args(argv)

    try:
        model, tokenizer = load_export_inputs(args)
    except (ValueError, OSError) as error:  # bad input: one line, nothing written
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        sys.exit(2)
    if args.overwrite and Path(args.output_dir).is_dir():
        shutil.rmtree(args.output_dir)  # stale files (other weights, another card) must not survive
    folder = save_for_hub(model, tokenizer, args.output_dir, {"base_model": args.model}, repo_id=args.push_to_hub)
    print(f"Hub-ready folder: {folder}")
    if args.push_to_hub:
        try:
            commit = push_folder(args.push_to_hub, folder)
        except RuntimeError as error:
            print(f"{parser.prog}: error: {error}", file=sys.stderr)
            sys.exit(2)
        print(f"Pushed: {commit.commit_url}")


if __name__ == "__main__":
    main()
