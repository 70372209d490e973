"""Write a Hub-ready LangSAMP folder: safetensors weights, config with `auto_map`, tokenizer files, the
remote-code modules and `model_card.md` rendered as README.md. One call: `save_for_hub(model, tokenizer, folder)`.

CLI (also converts stock XLM-R and the authors' release format into this package's format):

    python export.py --model PATH_OR_REPO --output_dir DIR [--tokenizer PATH_OR_REPO] [--push_to_hub USER/NAME]
    [--overwrite] [--format {langsamp,xlm-roberta}] [--language CODE]

`--format xlm-roberta` writes a stock XLM-R masked LM instead (no remote code; langsamp/hub/plain_xlmr.py), with
`--language`'s table rows folded into the LM head. Every folder also carries a sentence-transformers configuration
(mean pooling).

Bad input (a missing path, a folder that is not a masked-LM checkpoint, a non-empty --output_dir without
--overwrite, a --push_to_hub the Hub cannot take: offline, no token, unreachable, ...) ends in ONE line
`export.py: error: ...` and exit status 2, before anything is written. A push that fails after the folder is written
says so in one line (exit 2) with the command that retries the upload alone. The folder is written into a
temporary folder beside --output_dir and moved into place only when complete: a failed write (a full disk) is one
line, exit 1, and leaves --output_dir as it was.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from huggingface_hub.utils import validate_repo_id

from langsamp.command_name import command_name
from langsamp.hub.checks import (
    check_free_space,
    check_hub_push,
    check_not_adapter,
    check_output_dir,
    check_source,
    masked_lm_architecture,
)
from langsamp.hub.model_card import render_model_card
from langsamp.hub.plain_xlmr import resolve_language, save_plain
from langsamp.hub.remote_code import copy_remote_code
from langsamp.hub.sentence_transformers_config import write_sentence_transformers_config
from langsamp.hub.staging import staged_folder

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


FORMATS = ("langsamp", "xlm-roberta")


def save_for_hub(
    model: Any,
    tokenizer: Any,
    folder: str | os.PathLike,
    card_metadata: dict | None = None,
    repo_id: str | None = None,
    format: str = "langsamp",
    language: str | None = None,
) -> Path:
    """Write a Hub-ready folder; returns it as a Path. `format="langsamp"`: everything a `trust_remote_code` user
    needs. `format="xlm-roberta"`: a stock XLM-R masked LM, `language`'s table rows folded into the LM head (without
    one, the tables are dropped). Both carry a sentence-transformers configuration (mean pooling)."""
    if format not in FORMATS:
        raise ValueError(f"format {format!r}: choose one of {', '.join(FORMATS)}.")
    if language is not None and format != "xlm-roberta":
        raise ValueError(
            "--language folds a language into the plain XLM-R export (--format xlm-roberta); a LangSAMP folder keeps "
            "its tables (set a default language with `model.set_default_language(code)`)."
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if format == "xlm-roberta":
        save_plain(model, tokenizer, folder, language, card_metadata, repo_id)
    else:
        model.save_pretrained(folder)  # safetensors; config.json carries auto_map for every Auto class
        if tokenizer is not None:
            tokenizer.save_pretrained(folder)
        copy_remote_code(folder)
        render_model_card(model.config, card_metadata, repo_id).save(folder / "README.md")
    max_length = min(getattr(tokenizer, "model_max_length", 512), model.config.max_position_embeddings - 2)
    write_sentence_transformers_config(folder, model.config.hidden_size, max_length)
    return folder


def check_arguments(args: argparse.Namespace) -> None:
    """Every argument that needs no model, cheapest first."""
    check_source(args.model, "--model")
    check_not_adapter(args.model, "--model")
    if args.tokenizer:
        check_source(args.tokenizer, "--tokenizer")
    if args.language is not None and args.format != "xlm-roberta":
        raise ValueError(
            f"--language {args.language} folds a language into the plain export: add --format xlm-roberta (a LangSAMP "
            "folder keeps its tables and takes language ids at run time)."
        )
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
    if args.language is not None:
        check_language(args.model, args.language)


def check_language(model: str, language: str) -> None:
    """--language must have rows in the checkpoint's tables (read from its config alone)."""
    from configuration_langsamp import LangSAMPConfig

    try:
        resolve_language(LangSAMPConfig.from_pretrained(model), language)
    except ValueError as error:
        raise ValueError(f"--language {language}: {error}") from error


def load_model(args: argparse.Namespace) -> Any:
    from modeling_langsamp import LangSAMPForMaskedLM

    try:
        model, info = LangSAMPForMaskedLM.from_pretrained(args.model, output_loading_info=True)
    except OSError as error:  # no weights, a Hub repo that does not exist, ...
        raise OSError(f"--model {args.model}: {error}") from error
    no_head = sorted(key for key in info["missing_keys"] if key.startswith("lm_head."))
    if no_head:
        raise ValueError(
            f"--model {args.model} has no masked-LM head ({', '.join(no_head[:3])} missing): it is not a masked LM."
        )
    check_free_space(model, args.output_dir)
    return model


def load_tokenizer(args: argparse.Namespace, model: Any) -> Any:
    """--tokenizer, else --model's own, else (a checkpoint with XLM-R's vocabulary) XLM-R's; it must match the model."""
    from tokenization_langsamp import LangSAMPTokenizer

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
    return tokenizer


def load_export_inputs(args: argparse.Namespace) -> tuple[Any, Any]:
    """The model and tokenizer to export, every argument checked first (cheapest first)."""
    check_arguments(args)
    model = load_model(args)
    return model, load_tokenizer(args, model)


def main(argv: list[str] | None = None) -> None:
    """The command line (module docstring)."""
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
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="langsamp",
        help="langsamp (default: the tables and remote code) or xlm-roberta (a stock XLM-R masked LM, no remote code)",
    )
    parser.add_argument(
        "--language",
        metavar="CODE",
        help="with --format xlm-roberta: fold this language's (and its script's) table rows into the LM head",
    )
    args = parser.parse_args(argv)

    try:
        model, tokenizer = load_export_inputs(args)
    except (ValueError, OSError) as error:  # bad input: one line, nothing written
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        sys.exit(2)
    card = {"base_model": args.model}
    try:
        with staged_folder(args.output_dir) as staging:  # stale files of an --overwrite'd folder do not survive
            save_for_hub(model, tokenizer, staging, card, args.push_to_hub, args.format, args.language)
    except OSError as error:  # a full disk, a quota: nothing half-written is left
        kept = "kept as it was" if Path(args.output_dir).exists() else "not created"
        print(f"{parser.prog}: error: writing {args.output_dir} failed ({error}); it is {kept}.", file=sys.stderr)
        sys.exit(1)
    folder = Path(args.output_dir)
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
