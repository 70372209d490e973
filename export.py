"""Write a Hub-ready LangSAMP folder: safetensors weights, config with `auto_map`, tokenizer files, the
remote-code modules and `model_card.md` rendered as README.md. One call: `save_for_hub(model, tokenizer, folder)`.

CLI (also converts stock XLM-R and the authors' release format into this package's format):

    python export.py --model PATH_OR_REPO --output_dir DIR [--tokenizer PATH_OR_REPO] [--push_to_hub USER/NAME]
"""

import argparse
import shutil
from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData

HERE = Path(__file__).resolve().parent
# The modules that travel with every checkpoint (what trust_remote_code imports).
REMOTE_CODE_FILES = (
    "configuration_langsamp.py",
    "modeling_langsamp.py",
    "tokenization_langsamp.py",
    "langsamp_codes.py",
    "langsamp_inventory.py",
)


def copy_remote_code(folder):
    """Copy the remote-code modules into `folder` (the Trainer's own pushes leave them out)."""
    for name in REMOTE_CODE_FILES:
        shutil.copyfile(HERE / name, Path(folder) / name)


def render_model_card(config, card_metadata=None, repo_id=None):
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
        template_path=str(HERE / "model_card.md"),
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
    )


def save_for_hub(model, tokenizer, folder, card_metadata=None, repo_id=None):
    """Write everything a `trust_remote_code` user needs into `folder`; returns it as a Path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)  # safetensors; config.json carries auto_map for every Auto class
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    copy_remote_code(folder)
    render_model_card(model.config, card_metadata, repo_id).save(folder / "README.md")
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a LangSAMP, stock XLM-R (masked LM) or release-format checkpoint")
    parser.add_argument("--tokenizer", help="XLM-R tokenizer folder or repo (default: --model's, else the offline XLM-R one)")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--push_to_hub", metavar="REPO_ID", help="also upload the folder to this Hub repo")
    args = parser.parse_args(argv)

    from modeling_langsamp import LangSAMPForMaskedLM
    from tokenization_langsamp import LangSAMPTokenizer

    model = LangSAMPForMaskedLM.from_pretrained(args.model)
    try:
        tokenizer = LangSAMPTokenizer.from_pretrained(args.tokenizer or args.model)
    except (OSError, ValueError):
        if args.tokenizer:
            raise
        from assets import default_tokenizer

        tokenizer = default_tokenizer()
    folder = save_for_hub(model, tokenizer, args.output_dir, {"base_model": args.model}, repo_id=args.push_to_hub)
    print(f"Hub-ready folder: {folder}")
    if args.push_to_hub:
        from huggingface_hub import HfApi

        api = HfApi()
        api.create_repo(args.push_to_hub, exist_ok=True)
        commit = api.upload_folder(repo_id=args.push_to_hub, folder_path=folder)
        print(f"Pushed: {commit.commit_url}")


if __name__ == "__main__":
    main()
