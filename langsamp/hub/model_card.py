"""The model card every Hub folder carries: `model_card.md` rendered with a run's metadata."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from langsamp.hub.remote_code import REMOTE_CODE_DIR

# The model card template: beside them in a checkout; under <prefix>/share/langsamp/ once installed (pyproject.toml).
MODEL_CARD_PLACES = (
    REMOTE_CODE_DIR,
    REMOTE_CODE_DIR / "share" / "langsamp",  # pip install --target DIR
    Path(sysconfig.get_path("data")) / "share" / "langsamp",
    Path(sysconfig.get_path("data", f"{os.name}_user")) / "share" / "langsamp",
)


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
