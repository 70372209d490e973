"""LangSAMP (arXiv 2409.18199) as its difference from transformers' XLM-RoBERTa.

The encoder and every task head are transformers' own XLM-R modules (sdpa / eager / flash attention,
weight tying, resizing all come from there). LangSAMP adds two tables, languages x hidden and
scripts x hidden, whose rows are ADDED to the last encoder layer's output just before the masked-LM
head, and nowhere else:

    logits = lm_head(h_last + E_lang[lang_ids] + E_script[script_ids])

The head can read language and script identity from those vectors, so the encoder's own states are
pushed to be language-neutral. Task heads never use the tables.

No `from __future__ import annotations` here: transformers' common tests read the
`**kwargs: Unpack[TransformersKwargs]` annotation of `forward` to learn whether a model can output attentions,
which a string annotation would hide.
"""

import functools
import inspect
import warnings
from collections.abc import Sequence
from typing import Any, TypeVar

import transformers
from packaging.version import Version

# The check that opens configuration_langsamp.py (which says why); here too, since this module may be loaded first.
if Version(transformers.__version__) < Version("5.14"):  # as TRANSFORMERS_REQUIREMENT (configuration_langsamp.py)
    raise ImportError(
        f"LangSAMP's remote code needs transformers>=5.14,<6 (found {transformers.__version__}): pip install -U "
        "'transformers>=5.14,<6'"
    )

import torch
from torch import nn
from transformers import initialization as init
from transformers.activations import gelu
from transformers.modeling_outputs import MaskedLMOutput
from transformers.models.xlm_roberta.modeling_xlm_roberta import (
    XLMRobertaEmbeddings,
    XLMRobertaForMaskedLM,
    XLMRobertaForMultipleChoice,
    XLMRobertaForQuestionAnswering,
    XLMRobertaForSequenceClassification,
    XLMRobertaForTokenClassification,
    XLMRobertaLMHead,
    XLMRobertaModel,
    XLMRobertaPreTrainedModel,
)
from transformers.processing_utils import Unpack
from transformers.utils import TransformersKwargs, logging
from transformers.utils.generic import can_return_tuple

# Every sibling module by name, as in configuration_langsamp.py (which says why).
try:
    from .configuration_langsamp import AUTO_MAP, LangSAMPConfig
    from .langsamp_codes import default_script, parse_language
    from .langsamp_inventory import RELEASE_LANGUAGES  # noqa: F401
    from .tokenization_langsamp import LangSAMPTokenizer  # noqa: F401
except ImportError:  # imported from a checkout as a top-level module rather than as remote code
    from configuration_langsamp import AUTO_MAP, LangSAMPConfig
    from langsamp_codes import default_script, parse_language

logger = logging.get_logger(__name__)

_Model = TypeVar("_Model", bound=XLMRobertaPreTrainedModel)

# The authors' release (yihongLiu/LangSAMP) keeps the two tables inside the embeddings module although
# only the LM head uses them; from_pretrained renames them to where they act here.
RELEASE_KEY_MAPPING = {
    r"^roberta\.embeddings\.lang_type_embeddings\.": "language_script_embeddings.language_embeddings.",
    r"^roberta\.embeddings\.script_type_embeddings\.": "language_script_embeddings.script_embeddings.",
}

MISSING_IDS_HELP = (
    "Tokenize with the LangSAMP tokenizer and a language, e.g. `tokenizer(texts, lang='hin')` or "
    "`lang='hin_Deva'`: it returns `lang_ids` and `script_ids` next to `input_ids`; or set a default for calls "
    "without ids, as X-MOD does: `model.set_default_language('hin')`."
)


class LanguageScriptEmbeddings(nn.Module):
    """The two LangSAMP tables. `forward` gives the vector the masked-LM head adds to each position.

    No padding row, dropout, scaling or projection: the release adds the raw rows.
    """

    def __init__(self, config: LangSAMPConfig) -> None:
        super().__init__()
        hidden = config.hidden_size
        self.language_embeddings = nn.Embedding(len(config.languages), hidden) if config.use_lang_embedding else None
        self.script_embeddings = nn.Embedding(len(config.scripts), hidden) if config.use_script_embedding else None

    def forward(
        self, lang_ids: torch.Tensor | None = None, script_ids: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        offset = None
        for table, ids in ((self.language_embeddings, lang_ids), (self.script_embeddings, script_ids)):
            if table is not None:
                offset = table(ids) if offset is None else offset + table(ids)
        return offset


class LangSAMPPreTrainedModel(XLMRobertaPreTrainedModel):
    config_class = LangSAMPConfig
    config: LangSAMPConfig
    # The release has no token-type row; XLM-R's own is all zeros, so a zero row (see _init_weights) is exact.
    _keys_to_ignore_on_load_missing = [r"token_type_embeddings"]
    # Task heads and the bare encoder drop the pretraining tables without a warning: they never use them.
    _keys_to_ignore_on_load_unexpected = [r"language_script_embeddings\.", r"_type_embeddings\.weight$"]

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)  # the tables are nn.Embedding: N(0, initializer_range), as in the paper
        if isinstance(module, XLMRobertaEmbeddings):
            init.zeros_(module.token_type_embeddings.weight)

    def set_default_language(self, language: str, script: str | None = None) -> None:
        """The language (and script) whose table rows are used when a call passes neither `lang_ids` nor
        `script_ids`, as X-MOD's `set_default_language`: generic tools (pipelines, evaluation harnesses) then
        need no ids. Any code the tokenizer accepts (`hin`, `hi`, `hin_Deva`); the script defaults to the one the
        code names, else the language's most frequent script in Glot500-c. Saved with the config
        (`default_language`, `default_script`). Task heads ignore it (they never use the tables)."""
        config = self.config
        language, named = parse_language(language, config.languages, config.trained_pairs)
        script = script.title() if isinstance(script, str) else (named or default_script(language))
        if script not in config.scripts:
            raise ValueError(
                f"Default script {script!r} (for language {language!r}) is not among the model's scripts "
                f"({', '.join(config.scripts)}): pass `script=` with one of them."
            )
        config.default_language, config.default_script = language, script


class LangSAMPModel(LangSAMPPreTrainedModel, XLMRobertaModel):
    """Exactly the XLM-R encoder: language and script ids are neither needed nor used."""


def _check_ids(
    ids: Any, name: str, table: nn.Embedding, input_shape: tuple[int, int], device: torch.device
) -> torch.Tensor:
    """Validate `[batch]` or `[batch, seq]` ids against their table; return them broadcastable to `[batch, seq]`."""
    size = table.num_embeddings
    if ids is None:
        raise ValueError(
            f"`{name}` is required: this model adds a {size}-row table before its LM head. {MISSING_IDS_HELP}"
        )
    try:
        ids = torch.as_tensor(ids, device=device)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(
            f"`{name}` must hold integer row ids, got {ids!r} ({error}). Codes such as 'hin' go through the tokenizer: "
            f"{MISSING_IDS_HELP}"
        ) from error
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ValueError(f"`{name}` must hold integer ids, got dtype {ids.dtype}.")
    batch, seq = input_shape
    if ids.dim() == 0:  # one id for the whole batch
        ids = ids.expand(batch)
    if ids.dim() == 1 and ids.shape[0] == batch:
        ids = ids[:, None]
    elif not (ids.dim() == 2 and ids.shape[0] == batch and ids.shape[1] in (1, seq)):
        raise ValueError(
            f"`{name}` has shape {tuple(ids.shape)}; expected ({batch},) (one id per sequence) or ({batch}, {seq}) "
            "(aligned with input_ids)."
        )
    if not torch.compiler.is_compiling() and ids.numel():
        low, high = ids.min().item(), ids.max().item()
        if low < 0 or high >= size:
            bad = low if low < 0 else high
            raise ValueError(f"`{name}` holds {bad}, outside the table's rows 0..{size - 1}. {MISSING_IDS_HELP}")
    return ids.long()


class LangSAMPForMaskedLM(LangSAMPPreTrainedModel, XLMRobertaForMaskedLM):
    """XLM-R masked LM whose head also sees the language and script embeddings.

    `logits` is `[batch, seq, vocab]`, as every masked LM's. With `config.sparse_prediction` (ModernBERT's switch,
    which train.py turns on) and `labels`, the LM head runs only at positions whose label is not
    `config.sparse_pred_ignore_index` (the full logits are the largest tensor of training): `logits` is then
    `[n_masked, vocab]` in row-major order of those positions, and `loss` the same mean cross-entropy.
    """

    def __init__(self, config: LangSAMPConfig) -> None:
        LangSAMPPreTrainedModel.__init__(self, config)
        self.roberta = LangSAMPModel(config, add_pooling_layer=False)
        self.lm_head = XLMRobertaLMHead(config)
        self.language_script_embeddings = LanguageScriptEmbeddings(config)
        self.post_init()

    @classmethod
    def from_pretrained(
        cls, *args: Any, **kwargs: Any
    ) -> "LangSAMPForMaskedLM | tuple[LangSAMPForMaskedLM, dict[str, Any]]":
        """Our checkpoints, stock XLM-R masked-LM checkpoints (the tables start N(0, initializer_range), as in
        the paper's continual pretraining) and the authors' release format all load here."""
        kwargs["key_mapping"] = {**RELEASE_KEY_MAPPING, **(kwargs.get("key_mapping") or {})}
        wants_info = kwargs.pop("output_loading_info", False)
        model, info = super().from_pretrained(*args, output_loading_info=True, **kwargs)
        # Whatever format came in, save_pretrained writes our key names (transformers would revert the renaming).
        model._weight_conversions = []
        fresh = sorted(key for key in info["missing_keys"] if key.startswith("language_script_embeddings."))
        if fresh:
            logger.warning(
                "The checkpoint has no LangSAMP tables (%s): they start from N(0, %s), as in the paper's continual "
                "pretraining from XLM-R.",
                ", ".join(fresh),
                model.config.initializer_range,
            )
        return (model, info) if wants_info else model

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        *,
        lang_ids: torch.LongTensor | None = None,
        script_ids: torch.LongTensor | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> tuple[torch.Tensor] | MaskedLMOutput:
        r"""
        XLM-R's arguments in XLM-R's order; the ids are keyword-only, so a positional call written for XLM-R
        means the same here.

        labels (`torch.LongTensor` of shape `(batch, seq)`):
            Target ids at masked positions, -100 elsewhere.
        lang_ids (`torch.LongTensor` of shape `(batch,)` or `(batch, seq)`):
            Rows of the language table (`config.languages`); required when `config.use_lang_embedding`, unless
            neither id is passed and `config.default_language` is set (`set_default_language`).
        script_ids (`torch.LongTensor` of shape `(batch,)` or `(batch, seq)`):
            Rows of the script table (`config.scripts`); required when `config.use_script_embedding`, with the
            same default.
        """
        reference = input_ids if input_ids is not None else inputs_embeds
        shape, lang_ids, script_ids = self._checked_ids(reference, lang_ids, script_ids)
        if labels is not None and tuple(labels.shape) != shape:
            raise ValueError(f"`labels` has shape {tuple(labels.shape)}, `input_ids` {shape}: they must match.")

        outputs = self.roberta(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            return_dict=True,
            **kwargs,
        )
        hidden = outputs[0]

        sparse = labels is not None and self.config.sparse_prediction
        selected = None
        if labels is not None:
            labels = labels.to(hidden.device)
        if sparse:
            hidden, labels, lang_ids, script_ids, selected = self._masked_positions(
                hidden, labels, lang_ids, script_ids, shape
            )
        offset = self.language_script_embeddings(lang_ids, script_ids)
        hidden = hidden if offset is None else hidden + offset
        rows = self._chunked_loss_rows() if sparse else None
        if rows is not None and labels.numel() > rows:  # one chunk or less: the plain head is as lean, and faster
            return MaskedLMOutput(
                loss=self._chunked_loss(hidden, labels, **kwargs),
                hidden_states=outputs.hidden_states,
                attentions=outputs.attentions,
            )
        logits = self.lm_head(hidden)
        loss = None if labels is None else self._loss(logits, labels, selected, **kwargs)

        return MaskedLMOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )

    def _checked_ids(
        self, reference: torch.Tensor | None, lang_ids: torch.Tensor | None, script_ids: torch.Tensor | None
    ) -> tuple[tuple[int, int], torch.Tensor | None, torch.Tensor | None]:
        """(batch, seq) and the ids checked against the tables: the default language's when neither is given and
        `config.default_language` is set; None for a disabled table."""
        if reference is None:
            raise ValueError("Pass `input_ids` (or `inputs_embeds`).")
        shape = tuple(reference.shape[:2])
        if reference.dim() < 2:
            raise ValueError(f"`input_ids` must be [batch, seq], got shape {tuple(reference.shape)}.")
        tables = self.language_script_embeddings
        if lang_ids is None and script_ids is None and self.config.default_language is not None:
            # X-MOD's convention: no ids at all -> the configured default language (one id for the whole batch).
            lang_ids, script_ids = self._default_ids(reference.device)
        # Ids for a disabled table (the paper's baseline) are accepted and ignored, so one collator serves both.
        lang_ids = (
            None
            if tables.language_embeddings is None
            else _check_ids(lang_ids, "lang_ids", tables.language_embeddings, shape, reference.device)
        )
        script_ids = (
            None
            if tables.script_embeddings is None
            else _check_ids(script_ids, "script_ids", tables.script_embeddings, shape, reference.device)
        )
        return shape, lang_ids, script_ids

    def _masked_positions(
        self,
        hidden: torch.Tensor,
        labels: torch.Tensor,
        lang_ids: torch.Tensor | None,
        script_ids: torch.Tensor | None,
        shape: tuple[int, int],
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor]:
        """ModernBERT's sparse_prediction: the head and its vocabulary-sized logits run only at the positions whose
        label is not `sparse_pred_ignore_index` (~15% of tokens in MLM training). One data-dependent index (no graph
        break under torch.compile with dynamo's capture_dynamic_output_shape_ops), then plain gathers; a boolean
        mask per tensor broke the graph at each. Returns hidden, labels and ids at those positions, and the index."""
        labels = labels.flatten()
        selected = (labels != self.config.sparse_pred_ignore_index).nonzero().squeeze(1)
        hidden = hidden.flatten(0, 1).index_select(0, selected)
        labels = labels.index_select(0, selected)
        if lang_ids is not None:
            lang_ids = lang_ids.expand(shape).flatten().index_select(0, selected)
        if script_ids is not None:
            script_ids = script_ids.expand(shape).flatten().index_select(0, selected)
        return hidden, labels, lang_ids, script_ids, selected

    def _loss(
        self, logits: torch.Tensor, labels: torch.Tensor, selected: torch.Tensor | None, **kwargs: Any
    ) -> torch.Tensor:
        """The masked-LM loss; with the masked-only head (`selected`), a zero that keeps the graph when nothing is
        masked."""
        if selected is not None and torch.compiler.is_compiling():  # no Python branch on a data-dependent size
            return torch.where(
                selected.numel() > torch.zeros((), dtype=torch.long, device=logits.device),
                self.loss_function(logits, labels, vocab_size=self.config.vocab_size, **kwargs),
                logits.sum() * 0.0,
            )
        if selected is not None and not labels.numel():  # nothing masked in this batch: a zero that keeps DDP's graph
            return logits.sum() * 0.0
        return self.loss_function(logits, labels, vocab_size=self.config.vocab_size, **kwargs)

    def _chunked_loss_rows(self) -> int | None:
        """`config.chunked_loss_rows` where torch has the chunked `linear_cross_entropy` and the graph is eager."""
        rows = self.config.chunked_loss_rows
        if rows is None or torch.compiler.is_compiling() or not hasattr(nn, "LinearCrossEntropyOptions"):
            return None
        return rows

    def _chunked_loss(
        self, hidden: torch.Tensor, labels: torch.Tensor, num_items_in_batch: torch.Tensor | int | None = None, **_
    ) -> torch.Tensor:
        """XLM-R's head and `loss_function` (ForMaskedLMLoss: a mean, or a sum over `num_items_in_batch` under
        gradient accumulation), with the decoder and the cross-entropy fused by torch `chunked_loss_rows` positions
        at a time (`batch_chunk_size`: torch's own heuristic cuts a narrow model's 250k-wide head into one-row chunks).
        """
        head = self.lm_head
        features = head.layer_norm(gelu(head.dense(hidden)))  # XLMRobertaLMHead.forward up to its decoder
        options = nn.LinearCrossEntropyOptions(
            chunking_method=None, batch_chunk_size=self.config.chunked_loss_rows, acc_policy="accurate"
        )
        reduction = "mean" if num_items_in_batch is None else "sum"
        loss = nn.functional.linear_cross_entropy(
            features.float(),
            head.decoder.weight.float(),
            labels,
            linear_bias=head.decoder.bias.float(),
            reduction=reduction,
            ignore_index=self.config.sparse_pred_ignore_index,
            options=options,
        )
        if num_items_in_batch is not None:
            loss = loss / torch.as_tensor(num_items_in_batch, device=loss.device)
        return loss

    def _default_ids(self, device: torch.device) -> list[torch.Tensor]:
        """The rows of `config.default_language` and its script (`config.default_script`, else the language's
        most frequent script), as 0-dim tensors."""
        config = self.config
        script = config.default_script or default_script(config.default_language)
        rows = []
        for kind, code, inventory in (
            ("default_language", config.default_language, config.languages),
            ("default_script", script, config.scripts),
        ):
            if code not in inventory:
                raise ValueError(
                    f"`config.{kind}` is {code!r}, which is not among the model's {len(inventory)} codes: "
                    "set it with `model.set_default_language(code)`."
                )
            rows.append(torch.tensor(inventory.index(code), device=device))
        return rows

    def _table_rows(
        self, codes: str | Sequence[str], table: nn.Embedding | None, inventory: list[str], kind: str
    ) -> torch.Tensor:
        if table is None:
            raise ValueError(
                f"This model has no {kind} table "
                f"(config.use_{'lang' if kind == 'language' else 'script'}_embedding=False)."
            )
        single = isinstance(codes, str)
        if not single and not (isinstance(codes, (list, tuple)) and codes):
            raise TypeError(
                f"Pass a {kind} code (str) or a non-empty list of codes; got {type(codes).__name__} {codes!r}."
            )
        rows = []
        for code in [codes] if single else codes:
            if kind == "language":
                code = parse_language(code, inventory, self.config.trained_pairs)[0]
            elif isinstance(code, str):
                code = code.title()  # ISO 15924 spelling: 'deva' -> 'Deva'
            if code not in inventory:
                raise ValueError(f"Unknown script {code!r}; the model's scripts are {', '.join(inventory)}.")
            rows.append(inventory.index(code))
        self._warn_untrained(kind, [inventory[row] for row in rows])
        vectors = table.weight.detach()[rows]
        return vectors[0] if single else vectors

    def _warn_untrained(self, kind: str, codes: list[str]) -> None:
        """A row the checkpoint was never trained on is its random initialisation, not a learned vector: say so
        (when config.trained_pairs records what was trained; None = not recorded, nothing to compare with)."""
        pairs = self.config.trained_pairs
        if pairs is None:
            return
        part = 0 if kind == "language" else 1
        trained = {pair.split("_")[part] for pair in pairs}
        untrained = list(dict.fromkeys(code for code in codes if code not in trained))
        if untrained:
            shown = ", ".join(untrained[:8]) + (f" (and {len(untrained) - 8} more)" if len(untrained) > 8 else "")
            verb, rows = ("is", "its row is") if len(untrained) == 1 else ("are", "their rows are")
            warnings.warn(
                f"{kind.capitalize()}{'' if len(untrained) == 1 else 's'} {shown} {verb} not among the pairs this "
                "model was trained on (config.trained_pairs: "
                f"{len(pairs)} pairs{', e.g. ' + ', '.join(pairs[:5]) if pairs else ''}): {rows} still the random "
                f"initialisation N(0, {self.config.initializer_range}), not learned.",
                stacklevel=4,  # the caller of language_embedding / script_embedding
            )

    def language_embedding(self, codes: str | Sequence[str]) -> torch.Tensor:
        """The learned language vector(s): `model.language_embedding("hin")` -> `[hidden]`; a list -> `[n, hidden]`.
        Any code the tokenizer accepts works (`hi`, `hin_Deva`)."""
        return self._table_rows(
            codes, self.language_script_embeddings.language_embeddings, self.config.languages, "language"
        )

    def script_embedding(self, codes: str | Sequence[str]) -> torch.Tensor:
        """The learned script vector(s): `model.script_embedding("Deva")` -> `[hidden]`; a list -> `[n, hidden]`."""
        return self._table_rows(codes, self.language_script_embeddings.script_embeddings, self.config.scripts, "script")


def ignores_language_script_ids(cls: type[_Model]) -> type[_Model]:
    """Let a task head take the `lang_ids` / `script_ids` our tokenizer emits, and drop them (LangSAMP uses the
    tables only in pretraining). The signature lists them explicitly: the Trainer keeps only the columns
    that `forward` names, so a bare `**kwargs` would make it drop `input_ids`."""
    parent_forward = cls.forward

    @functools.wraps(parent_forward)
    def forward(self: _Model, *args: Any, lang_ids: Any = None, script_ids: Any = None, **kwargs: Any) -> Any:
        return parent_forward(self, *args, **kwargs)

    signature = inspect.signature(parent_forward)
    params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    extra = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None) for n in ("lang_ids", "script_ids")]
    tail = [p for p in signature.parameters.values() if p.kind is inspect.Parameter.VAR_KEYWORD]
    forward.__signature__ = signature.replace(parameters=params + extra + tail)
    cls.forward = forward
    return cls


ignores_language_script_ids(LangSAMPModel)


@ignores_language_script_ids
class LangSAMPForSequenceClassification(LangSAMPPreTrainedModel, XLMRobertaForSequenceClassification):
    pass


@ignores_language_script_ids
class LangSAMPForTokenClassification(LangSAMPPreTrainedModel, XLMRobertaForTokenClassification):
    pass


@ignores_language_script_ids
class LangSAMPForQuestionAnswering(LangSAMPPreTrainedModel, XLMRobertaForQuestionAnswering):
    pass


@ignores_language_script_ids
class LangSAMPForMultipleChoice(LangSAMPPreTrainedModel, XLMRobertaForMultipleChoice):
    pass


# save_pretrained writes the modules (and the ones they import) next to the weights, so every saved folder loads
# with trust_remote_code; the full auto_map is the config's (AUTO_MAP).
for _auto_class, _name in AUTO_MAP.items():
    if _auto_class != "AutoConfig":
        globals()[_name.split(".")[1]].register_for_auto_class(_auto_class)

__all__ = [
    "LanguageScriptEmbeddings",
    "LangSAMPPreTrainedModel",
    "LangSAMPModel",
    "LangSAMPForMaskedLM",
    "LangSAMPForSequenceClassification",
    "LangSAMPForTokenClassification",
    "LangSAMPForQuestionAnswering",
    "LangSAMPForMultipleChoice",
]
