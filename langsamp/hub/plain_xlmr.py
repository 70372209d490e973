"""A LangSAMP masked LM as a stock XLM-R one, for tools that know XLM-R and nothing else.

The encoder is XLM-R's, weight for weight. The tables enter the model only through the LM head's first dense layer,
and `dense(h + e) = W h + (W e + b)`: folding one language's and script's vectors `e` into the dense bias gives a
stock `XLMRobertaForMaskedLM` whose logits are LangSAMP's with those ids. Without a language the tables are dropped.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from huggingface_hub import ModelCard, ModelCardData
from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaTokenizer

from langsamp_codes import default_script, parse_language

logger = logging.getLogger(__name__)

# What a stock config.json holds besides the architecture's own fields is left to XLMRobertaConfig to write.
NOT_COPIED = {"architectures", "auto_map", "model_type", "transformers_version", "_name_or_path"}


@dataclass(frozen=True)
class FoldedLanguage:
    """The language and script whose table rows were folded into the LM head's dense bias."""

    language: str
    script: str

    @property
    def label(self) -> str:
        return f"{self.language}_{self.script}"


def resolve_language(config, code: str) -> FoldedLanguage:
    """`code` (any code the tokenizer accepts: `hin`, `hi`, `hin_Deva`) as the rows of the checkpoint's tables;
    ValueError naming the code when the tables have no row for it."""
    language, named = parse_language(code, config.languages, config.trained_pairs)
    script = named or default_script(language)
    if script not in config.scripts:
        raise ValueError(
            f"its script {script!r} is not among the checkpoint's scripts ({', '.join(config.scripts)}): name one with "
            f"the language, e.g. '{language}_{config.scripts[0]}'."
        )
    return FoldedLanguage(language, script)


def plain_config(config) -> XLMRobertaConfig:
    """The stock XLM-R config of a LangSAMP one: the architecture's fields, none of LangSAMP's."""
    fields = set(XLMRobertaConfig().to_dict()) - NOT_COPIED
    plain = XLMRobertaConfig(**{key: value for key, value in config.to_dict().items() if key in fields})
    plain.architectures = ["XLMRobertaForMaskedLM"]
    return plain


def to_xlm_roberta(model, folded: FoldedLanguage | None = None) -> XLMRobertaForMaskedLM:
    """A stock XLMRobertaForMaskedLM with `model`'s encoder and LM head, `folded`'s table rows in the dense bias."""
    plain = XLMRobertaForMaskedLM(plain_config(model.config)).to(model.dtype)
    weights = {key: value for key, value in model.state_dict().items() if not key.startswith("language_script_")}
    result = plain.load_state_dict(weights, strict=False)
    missing = [key for key in result.missing_keys if key != "lm_head.decoder.weight"]  # tied to the embeddings
    if missing or result.unexpected_keys:
        raise ValueError(f"Not an XLM-R masked LM: missing {missing[:3]}, unexpected {result.unexpected_keys[:3]}.")
    plain.tie_weights()
    if folded is not None:
        offset = table_offset(model, folded)
        with torch.no_grad():
            dense = model.lm_head.dense
            bias = dense.weight.double() @ offset.double() + dense.bias.double()
            plain.lm_head.dense.bias.copy_(bias.to(dense.bias.dtype))
    return plain.eval()


def table_offset(model, folded: FoldedLanguage) -> torch.Tensor:
    """The vector the tables add before the LM head for `folded`: its language row plus its script row (either
    table may be switched off)."""
    config, tables = model.config, model.language_script_embeddings
    offset = torch.zeros(config.hidden_size, dtype=torch.float64)
    if tables.language_embeddings is not None:
        offset += tables.language_embeddings.weight[config.languages.index(folded.language)].double()
    if tables.script_embeddings is not None:
        offset += tables.script_embeddings.weight[config.scripts.index(folded.script)].double()
    return offset.detach()


def plain_tokenizer(tokenizer) -> XLMRobertaTokenizer:
    """The stock XLM-R tokenizer over the same tokenizer.json (the same pieces and ids, no language ids)."""
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save_pretrained(folder)
        return XLMRobertaTokenizer(
            tokenizer_file=str(Path(folder) / "tokenizer.json"), model_max_length=tokenizer.model_max_length
        )


def save_plain(
    model,
    tokenizer,
    folder: Path,
    language: str | None,
    card_metadata: dict | None = None,
    repo_id: str | None = None,
) -> FoldedLanguage | None:
    """Write the stock XLM-R folder: weights, config, the stock tokenizer files and its model card."""
    folded = resolve_language(model.config, language) if language is not None else None
    if folded is not None and folded.label not in (model.config.trained_pairs or [folded.label]):
        logger.warning("%s is not among the pairs the checkpoint was trained on: its rows are untrained.", folded.label)
    to_xlm_roberta(model, folded).save_pretrained(folder)
    if tokenizer is not None:
        plain_tokenizer(tokenizer).save_pretrained(folder)
    render_plain_card(model.config, folded, card_metadata, repo_id).save(Path(folder) / "README.md")
    return folded


def render_plain_card(config, folded: FoldedLanguage | None, card_metadata: dict | None, repo_id: str | None):
    """The plain folder's model card: what it is, which language is folded in, how it was made."""
    meta = dict(card_metadata or {})
    data = ModelCardData(
        language=sorted({code.split("_")[0] for code in (config.trained_pairs or config.languages)}),
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="fill-mask",
        base_model=meta.get("base_model"),
        tags=["xlm-roberta", "langsamp", "multilingual"],
    )
    return ModelCard.from_template(
        data,
        template_str=PLAIN_CARD,
        model_name=meta.get("model_name") or (repo_id or "LangSAMP as XLM-R").split("/")[-1],
        repo_id=repo_id or "path/to/this/folder",
        base_model=meta.get("base_model") or "a LangSAMP checkpoint",
        folded=folded,
        num_languages=len(config.languages),
        num_scripts=len(config.scripts),
        hidden_size=config.hidden_size,
    )


PLAIN_CARD = """---
{{ card_data }}
---

# {{ model_name }}

A stock XLM-RoBERTa masked LM (`model_type: xlm-roberta`, `XLMRobertaForMaskedLM`) exported from the
[LangSAMP](https://arxiv.org/abs/2409.18199) checkpoint `{{ base_model }}` with
`langsamp-export --format xlm-roberta{% if folded %} --language {{ folded.label }}{% endif %}`. It loads with every
stock Auto class and any tool that knows XLM-R, without `trust_remote_code`.

The encoder is the LangSAMP encoder, weight for weight: fine-tuning, retrieval and sentence embeddings are the same
as with the LangSAMP folder.
{% if folded %}
**Folded language: `{{ folded.language }}`, script `{{ folded.script }}`.** LangSAMP adds a language vector and a
script vector to the last layer's output just before the LM head. They enter the head only through its first dense
layer, and `dense(h + e) = W h + (W e + b)`, so the two vectors were folded into that layer's bias: this model's
masked-LM logits are the LangSAMP model's with the ids of `{{ folded.language }}` and `{{ folded.script }}` (to float
rounding), whatever the text (LangSAMP's tokenizer would detect each text's script; this model always adds
`{{ folded.script }}`'s vector). Export again with another `--language` (e.g. `{{ folded.language }}_Latn`) for
another language or script.
{% else %}
**No language folded in.** The language and script tables ({{ num_languages }} languages and {{ num_scripts }} scripts
x {{ hidden_size }}) were dropped: the LM head now sees the encoder's output alone, which it never did in training, so
its fill-mask predictions are not the LangSAMP model's for any language. Export with `--language CODE` to keep one
language's predictions.
{% endif %}

## Use

```python
from transformers import AutoModelForMaskedLM, AutoTokenizer, pipeline

tokenizer = AutoTokenizer.from_pretrained("{{ repo_id }}")
model = AutoModelForMaskedLM.from_pretrained("{{ repo_id }}")
fill = pipeline("fill-mask", model=model, tokenizer=tokenizer)

from sentence_transformers import SentenceTransformer  # mean pooling, configured in this folder

embeddings = SentenceTransformer("{{ repo_id }}").encode(["Hello world", "Hallo Welt"])
```
"""
