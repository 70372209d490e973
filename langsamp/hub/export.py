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
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from huggingface_hub.utils import validate_repo_id

from langsamp.command_name import command_name
from langsamp.hub.checks import check_hub_push, check_output_dir, check_source, masked_lm_architecture
from langsamp.hub.model_card import render_model_card
from langsamp.hub.remote_code import copy_remote_code

XLMR_VOCAB_SIZE = 250002


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
