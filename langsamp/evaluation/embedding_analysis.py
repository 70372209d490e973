"""The learned language (and script) embeddings: similarities, nearest languages and recommended source languages for
a target (the pictures are in embedding_plots.py)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch.nn.functional as F

from langsamp.evaluation.languages import model_languages, trained_languages
from langsamp.evaluation.models import checkpoint_config, is_langsamp_checkpoint, load_model

if TYPE_CHECKING:
    from transformers import PreTrainedModel

logger = logging.getLogger(__name__)

# Languages the analysis pictures show when none are named: widely known languages across families and scripts.
ANALYSIS_LANGUAGES = tuple(
    """eng_Latn deu_Latn nld_Latn swe_Latn dan_Latn isl_Latn fra_Latn spa_Latn por_Latn ita_Latn ron_Latn cat_Latn
    rus_Cyrl ukr_Cyrl bul_Cyrl srp_Cyrl pol_Latn ces_Latn slv_Latn lit_Latn lav_Latn ell_Grek hye_Armn kat_Geor
    hin_Deva mar_Deva ben_Beng urd_Arab pes_Arab pus_Arab arb_Arab heb_Hebr amh_Ethi tur_Latn kaz_Cyrl uzb_Latn
    fin_Latn est_Latn hun_Latn cmn_Hani jpn_Jpan kor_Hang vie_Latn tha_Thai khm_Khmr ind_Latn tgl_Latn swh_Latn
    yor_Latn hau_Latn tam_Taml tel_Telu""".split()
)

NO_LANGUAGE_TABLE = (
    "{what} has no learned language embeddings ({why}). The analysis needs a LangSAMP masked-LM checkpoint "
    "pretrained with the language table (use_lang_embedding=True); the paper's baseline, stock XLM-R and "
    "fine-tuned task heads have none."
)


def embedding_model(model: str | Path | PreTrainedModel) -> PreTrainedModel:
    """A loaded model that has a language table, or a clear ValueError (checked before loading a path)."""
    if isinstance(model, (str, Path)):
        config = checkpoint_config(model)
        if not is_langsamp_checkpoint(model):
            raise ValueError(
                NO_LANGUAGE_TABLE.format(
                    what=f"Checkpoint {str(model)!r}", why=f"model_type {config.get('model_type')!r} is not LangSAMP"
                )
            )
        if config.get("use_lang_embedding", True) is False:
            raise ValueError(
                NO_LANGUAGE_TABLE.format(what=f"Checkpoint {str(model)!r}", why="use_lang_embedding=False")
            )
        model = load_model(model, "masked-lm")
    tables = getattr(model, "language_script_embeddings", None)
    if tables is None or tables.language_embeddings is None:
        why = "use_lang_embedding=False" if tables is not None else f"{type(model).__name__} carries no LangSAMP tables"
        raise ValueError(NO_LANGUAGE_TABLE.format(what="This model", why=why))
    return model


def check_analysis_inputs(
    checkpoint: str | Path,
    codes: list[str],
    plot_languages: list[str] | None = None,
    plot_dir: str | Path | None = None,
) -> None:
    """Before the weights load: each of `codes` names a language of the checkpoint's inventory (a bad code is named),
    and pictures (`plot_dir`) of `plot_languages` show at least 3 languages. `checkpoint`: a path or Hub id."""
    from langsamp_codes import parse_language

    inventory = model_languages(checkpoint_config(checkpoint))
    for code in codes if inventory else []:
        parse_language(code, inventory)
    if plot_dir and plot_languages and len(set(plot_languages)) < 3:
        raise ValueError(f"--plot-dir needs at least 3 --languages for its pictures, got {' '.join(plot_languages)}.")


def _language_codes(model, languages):
    from langsamp_codes import parse_language

    inventory = list(model.config.languages)
    if languages is None:
        return inventory
    return list(dict.fromkeys(parse_language(code, inventory)[0] for code in languages))


def language_similarity(
    model: str | Path | PreTrainedModel, languages: list[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """Cosine similarities between learned language embeddings: (codes, `[n, n]` numpy array).
    `languages` takes any code the tokenizer accepts (`hi`, `hin_Deva`); default all of the model's."""
    model = embedding_model(model)
    codes = _language_codes(model, languages)
    vectors = F.normalize(model.language_embedding(codes).double(), dim=-1)  # float64: rank ties survive rounding
    return codes, (vectors @ vectors.T).numpy()


def script_similarity(
    model: str | Path | PreTrainedModel, scripts: list[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """Cosine similarities between learned script embeddings: (codes, `[n, n]` numpy array)."""
    model = embedding_model(model)
    if model.language_script_embeddings.script_embeddings is None:
        raise ValueError("This model has no script embeddings (use_script_embedding=False).")
    codes = list(model.config.scripts) if scripts is None else list(scripts)
    vectors = F.normalize(model.script_embedding(codes).float(), dim=-1)
    return codes, (vectors @ vectors.T).numpy()


def nearest_languages(
    model: str | Path | PreTrainedModel,
    lang: str,
    k: int = 5,
    candidates: list[str] | None = None,
    all_languages: bool = False,
) -> list[tuple[str, float]]:
    """The `k` languages whose embeddings are most cosine-similar to `lang`'s: [(iso639_3, similarity)], best first.

    When the checkpoint records the pairs it was trained on (`config.trained_pairs`), only their languages are
    ranked (the other rows never left their random initialisation); candidates outside them are dropped with a
    warning. all_languages=True ranks every candidate (default: every language of the inventory).
    """
    from langsamp_codes import parse_language

    if not isinstance(k, int) or isinstance(k, bool) or k < 1:  # before the checkpoint loads
        raise ValueError(f"k={k!r} must be a positive integer.")
    model = embedding_model(model)
    target = parse_language(lang, list(model.config.languages))[0]
    pool = [code for code in _language_codes(model, candidates) if code != target]
    trained = None if all_languages else trained_languages(model)
    if trained:
        untrained = [code for code in pool if code not in trained]
        if untrained and candidates is not None:
            logger.warning(
                "Ranking only the languages this checkpoint was trained on (config.trained_pairs); left out: %s. "
                "Pass all_languages=True (--all-languages) to rank them too.",
                ", ".join(untrained),
            )
        pool = [code for code in pool if code in trained]
        if target not in trained:
            logger.warning(
                "%s was not among the trained languages: its embedding is its random initialisation.", target
            )
    if not pool:
        raise ValueError(
            f"No candidate language besides {target!r}"
            + (" among the trained languages (pass --all-languages to rank the others)." if trained else ".")
        )
    vectors = F.normalize(model.language_embedding([target] + pool).float(), dim=-1)
    scores = (vectors[1:] @ vectors[0]).tolist()
    ranked = sorted(zip(pool, scores), key=lambda item: -item[1])
    return [(code, float(score)) for code, score in ranked[:k]]


def recommend_source_languages(
    model: str | Path | PreTrainedModel,
    target: str,
    k: int = 5,
    candidates: list[str] | None = None,
    all_languages: bool = False,
) -> list[tuple[str, float]]:
    """Rank candidate source languages for zero-shot transfer to `target` by the cosine similarity of their learned
    language embeddings (the paper's use of the table): [(iso639_3, similarity)], best first.

    candidates: the languages you have training data in (e.g. ["eng", "deu", "rus", "hin", "cmn", "arb"]); default
    every language of the model (only the trained ones when the checkpoint records them, unless all_languages).
    """
    return nearest_languages(model, target, k=k, candidates=candidates, all_languages=all_languages)
