"""Configuration of LangSAMP: XLM-RoBERTa plus the language and script inventories of its two tables.

No `from __future__ import annotations` here: `@strict` validates each field against its annotation, and skips the
check when the annotation is a string.
"""

from typing import Any

import transformers
from packaging.version import Version

# These modules travel with every checkpoint and run on whatever transformers loads them: an older one fails in the
# imports below (or earlier, in its module loader) with errors that name neither LangSAMP nor the version needed, so
# the version is checked first. The same `if` opens modeling_ and tokenization_langsamp.py (the latter, imported by
# every path, also warns on transformers 6); literals, not a constant: only imports and `if`s may precede imports.
if Version(transformers.__version__) < Version("5.14"):  # as TRANSFORMERS_REQUIREMENT below
    raise ImportError(
        f"LangSAMP's remote code needs transformers>=5.14,<6 (found {transformers.__version__}): pip install -U "
        "'transformers>=5.14,<6'"
    )

from huggingface_hub.dataclasses import strict
from transformers import AutoTokenizer, XLMRobertaConfig

# Every sibling module by name, langsamp_codes too although only the tokenizer uses it: transformers < 5.10 (4.x too)
# copies a local folder's module into its cache with only the files that module imports itself, then fails with
# FileNotFoundError on a file one of those imports, before the check above could run.
try:
    from .langsamp_codes import parse_language  # noqa: F401
    from .langsamp_inventory import RELEASE_LANGUAGES, RELEASE_SCRIPTS
    from .tokenization_langsamp import LangSAMPTokenizer
except ImportError:  # imported from a checkout as a top-level module rather than as remote code
    from langsamp_inventory import RELEASE_LANGUAGES, RELEASE_SCRIPTS
    from tokenization_langsamp import LangSAMPTokenizer

# The range of transformers the remote code runs on: checked at the top of this module, written to config.json, stated
# in model_card.md.
TRANSFORMERS_REQUIREMENT = "transformers>=5.14,<6"

# Every Auto class the package supports. `register_for_auto_class` would record only the class that was
# saved, so the map is written out in full.
AUTO_MAP = {
    "AutoConfig": "configuration_langsamp.LangSAMPConfig",
    "AutoModel": "modeling_langsamp.LangSAMPModel",
    "AutoModelForMaskedLM": "modeling_langsamp.LangSAMPForMaskedLM",
    "AutoModelForSequenceClassification": "modeling_langsamp.LangSAMPForSequenceClassification",
    "AutoModelForTokenClassification": "modeling_langsamp.LangSAMPForTokenClassification",
    "AutoModelForQuestionAnswering": "modeling_langsamp.LangSAMPForQuestionAnswering",
    "AutoModelForMultipleChoice": "modeling_langsamp.LangSAMPForMultipleChoice",
}


@strict
class LangSAMPConfig(XLMRobertaConfig):
    r"""
    XLM-RoBERTa (defaults: XLM-R base) with LangSAMP's language and script embeddings.

    Args:
        languages (`list[str]`, *optional*):
            ISO 639-3 codes in id order: row `i` of the language table is `languages[i]`. Defaults to the
            release's 610 languages.
        scripts (`list[str]`, *optional*):
            ISO 15924 codes in id order. Defaults to the release's 30 scripts.
        use_lang_embedding (`bool`, defaults to `True`) / use_script_embedding (`bool`, defaults to `True`):
            Whether the masked-LM head adds the language / script embedding. Both off gives the paper's baseline
            (plain continual pretraining).
        trained_pairs (`list[str]`, *optional*):
            The `<lang>_<Script>` pairs (Glot500 labels) the checkpoint was trained on, set by train.py; None or empty
            = not recorded. Only those rows of the tables were trained: neighbour search reads it, and a two-letter
            code of a macrolanguage (`ar`) resolves to the trained individual language (`arb`).
        default_language (`str`, *optional*) / default_script (`str`, *optional*):
            X-MOD's convention: the language (ISO 639-3 code of `languages`) and script (of `scripts`) whose rows the
            masked-LM head uses when a call passes neither `lang_ids` nor `script_ids`; set them with
            `model.set_default_language(code)`. `default_script` None = the language's most frequent script in
            Glot500-c. None (the default): the ids are required.
        sparse_prediction (`bool`, defaults to `False`) / sparse_pred_ignore_index (`int`, defaults to -100):
            ModernBERT's switch: with `labels`, the masked-LM head runs only where the label is not
            `sparse_pred_ignore_index`, and `logits` is `[n_masked, vocab]` instead of `[batch, seq, vocab]`.
        chunked_loss_rows (`int`, *optional*):
            With `sparse_prediction` and `labels` masking more positions than this, the loss comes from torch's
            chunked `linear_cross_entropy`, this many masked positions at a time, and the `[n_masked, vocab]` logits
            are never held whole (with many masked tokens they are the largest tensors of a step): `logits` is then
            None. train.py turns it on for training; None (the default), fewer masked positions, or a torch without
            `linear_cross_entropy`: the logits are computed and returned.

    The authors' release config (`model_type: xlm-roberta` with `lang_size`, `script_size`,
    `decouple_at_input_embeddings`) is read too, so `LangSAMPForMaskedLM.from_pretrained` loads it directly.
    """

    model_type = "langsamp"

    vocab_size: int = 250002
    max_position_embeddings: int = 514
    type_vocab_size: int = 1
    layer_norm_eps: float = 1e-5
    tie_word_embeddings: bool = True
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | list[int] | None = 2
    languages: list[str] | None = None
    scripts: list[str] | None = None
    use_lang_embedding: bool = True
    use_script_embedding: bool = True
    trained_pairs: list[str] | None = None
    default_language: str | None = None
    default_script: str | None = None
    sparse_prediction: bool = False
    sparse_pred_ignore_index: int = -100
    chunked_loss_rows: int | None = None

    @classmethod
    def from_dict(
        cls, config_dict: dict[str, Any], **kwargs: Any
    ) -> "LangSAMPConfig | tuple[LangSAMPConfig, dict[str, Any]]":
        # transformers applies `from_pretrained(..., languages=[...])` only AFTER construction, too late for the
        # check of the release's `lang_size` / `script_size` below: hand the codes to the constructor instead.
        config_dict = dict(config_dict)
        for key in ("languages", "scripts"):
            if key in kwargs:
                config_dict[key] = kwargs.pop(key)
        return super().from_dict(config_dict, **kwargs)

    def __post_init__(self, **kwargs: Any) -> None:
        # The authors' release names the table sizes instead of listing codes.
        lang_size = kwargs.pop("lang_size", None)
        script_size = kwargs.pop("script_size", None)
        if kwargs.pop("decouple_at_input_embeddings", False):
            raise ValueError(
                "This checkpoint adds the language/script embeddings at the INPUT embeddings "
                "(`decouple_at_input_embeddings=true`): that is a different model from LangSAMP, which adds them "
                "only before the masked-LM head. It is not supported."
            )
        if self.languages is None:
            self.languages = list(RELEASE_LANGUAGES)
        if self.scripts is None:
            self.scripts = list(RELEASE_SCRIPTS)
        tables = (
            ("languages", self.languages, lang_size, self.use_lang_embedding),
            ("scripts", self.scripts, script_size, self.use_script_embedding),
        )
        for name, codes, size, enabled in tables:
            if size is not None and size != len(codes):
                raise ValueError(
                    f"The checkpoint's {name} table has {size} rows but {len(codes)} codes are known: pass "
                    f"`{name}=[...]` (the codes in id order) to `from_pretrained`."
                )
            if not codes and enabled:
                raise ValueError(f"`{name}` is empty: the table needs at least one code (or disable it).")
            if len(set(codes)) != len(codes):
                raise ValueError(f"`{name}` lists a code twice: each code must name exactly one row.")
        if self.trained_pairs:
            known = (set(self.languages), set(self.scripts))
            bad = [
                p
                for p in self.trained_pairs
                if len(p.split("_")) != 2 or not all(x in k for x, k in zip(p.split("_"), known))
            ]
            if bad:
                raise ValueError(
                    f"`trained_pairs` holds {bad[:5]}: each entry must be `<lang>_<Script>` with a language of "
                    "`languages` and a script of `scripts` (e.g. 'hin_Deva')."
                )
        for name, code, inventory in (
            ("default_language", self.default_language, self.languages),
            ("default_script", self.default_script, self.scripts),
        ):
            if code is not None and code not in inventory:
                raise ValueError(
                    f"`{name}` is {code!r}, which is not among the model's {len(inventory)} {name.split('_')[1]} "
                    "codes: "
                    "use one of them (`model.set_default_language(code)` accepts any code the tokenizer does)."
                )
        if self.chunked_loss_rows is not None and self.chunked_loss_rows < 1:
            raise ValueError(
                f"`chunked_loss_rows` is {self.chunked_loss_rows}: give the masked positions per chunk of the loss "
                "(e.g. 256), or None to compute the logits whole."
            )
        kwargs.pop("remote_code_requires", None)  # what this code needs counts, not what a saved config.json says
        # A stock XLM-R or release config.json says "xlm-roberta": as an instance attribute it would shadow this
        # class's "langsamp" in memory (config.model_type) although to_dict/save already write "langsamp".
        kwargs.pop("model_type", None)
        if kwargs.get("auto_map") is None:
            kwargs["auto_map"] = dict(AUTO_MAP)
        super().__post_init__(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        # `transformers_version` records the release that wrote the file; this records the range that can read it.
        return {**super().to_dict(), "remote_code_requires": TRANSFORMERS_REQUIREMENT}


LangSAMPConfig.register_for_auto_class()  # save_pretrained then writes this module (and its imports) too
# AutoTokenizer on a folder without tokenizer_config.json (weights only) falls back to the tokenizer registered for
# the config's class: ours, whose from_pretrained says the tokenizer files are missing (transformers' generic
# backend would fail with a message about sentencepiece). Folders with tokenizer files use their own auto_map.
AutoTokenizer.register(LangSAMPConfig, tokenizer_class=LangSAMPTokenizer, exist_ok=True)

__all__ = ["LangSAMPConfig"]
