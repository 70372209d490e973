"""What a run is built from, each builder returning what it built: the tokenizer, the config (checked against the
tokenizer's inventory, overrides applied), the model (its vocabulary grown to the tokenizer's when that is larger)
and the head warm-up the run resolves to."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Any

from transformers import TrainingArguments

from configuration_langsamp import LangSAMPConfig
from langsamp.training.arguments import DataArguments, ModelArguments
from langsamp.training.callbacks.head_warmup import UNTRAINED_HEAD_FIELD, HeadWarmup, auto_steps, untrained_head_reason
from langsamp.training.resume import recorded_head_warmup
from langsamp.training.table_rows import grow_tables
from langsamp.training.trainer import training_head
from langsamp.training.vocabulary_extension import VocabularyExtension, extend_vocabulary
from modeling_langsamp import LangSAMPForMaskedLM
from tokenization_langsamp import LangSAMPTokenizer

logger = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """The masked LM to train and what loading it found: why its LM head is untrained (None: it is trained, or
    everything is random), how its vocabulary was grown and which table rows were appended (None: none)."""

    model: LangSAMPForMaskedLM
    untrained_head: str | None = None
    vocabulary_extension: VocabularyExtension | None = None
    grown_rows: dict | None = None  # table_rows.grow_tables' record: the rows appended and how each started


def load_tokenizer(model_args: ModelArguments) -> LangSAMPTokenizer:
    source = model_args.tokenizer_name or model_args.model_name_or_path
    if source is None:
        from langsamp.resources.xlmr_tokenizer import default_tokenizer

        return default_tokenizer()
    try:
        return LangSAMPTokenizer.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise ValueError(
            f"Could not load a tokenizer from {source!r} ({error}). Pass --tokenizer_name with an XLM-R-style "
            "tokenizer (a folder with tokenizer.json, or a Hub id)."
        ) from error


def load_config(model_args: ModelArguments, tokenizer: LangSAMPTokenizer) -> LangSAMPConfig:
    """The model config, checked against the tokenizer (cheap; the weights load later)."""
    tables = {
        key: value
        for key, value in (
            ("use_lang_embedding", model_args.use_lang_embedding),
            ("use_script_embedding", model_args.use_script_embedding),
        )
        if value is not None
    }
    source = model_args.config_name or model_args.model_name_or_path
    raw = LangSAMPConfig.get_config_dict(source)[0] if source else {}
    config = LangSAMPConfig.from_pretrained(source, **tables) if source else LangSAMPConfig(**tables)
    if model_args.config_overrides:
        apply_config_overrides(config, model_args.config_overrides)
    if model_args.model_name_or_path and ("languages" in raw or "lang_size" in raw):
        # A LangSAMP (or release) checkpoint: its table rows follow its own inventory, which the tokenizer's must
        # begin with; codes after it are rows the run appends (load_model).
        for name in ("languages", "scripts"):
            ours, theirs = list(getattr(config, name)), list(getattr(tokenizer, name))
            if theirs[: len(ours)] != ours:
                raise ValueError(
                    f"The model's {name} ({len(ours)} codes) differ from the tokenizer's ({len(theirs)}): the ids "
                    "would index the wrong rows. Use the checkpoint's own tokenizer (leave out --tokenizer_name), or "
                    "one whose inventory appends codes to the checkpoint's."
                )
            setattr(config, name, theirs)
    else:
        # New tables (from scratch, or stock XLM-R): the inventory is the tokenizer's (the release's by default).
        config.languages, config.scripts = list(tokenizer.languages), list(tokenizer.scripts)
        config.trained_pairs = []  # no row trained yet (None would mean: trained on something not recorded)
    if not model_args.model_name_or_path:
        config.vocab_size = len(tokenizer)
        config.pad_token_id, config.bos_token_id, config.eos_token_id = (
            tokenizer.pad_token_id,
            tokenizer.bos_token_id,
            tokenizer.eos_token_id,
        )
    return config


def apply_config_overrides(config: LangSAMPConfig, overrides: str) -> None:
    """`--config_overrides key=value,...` through transformers' `update_from_string`, one pair at a time so that an
    error names the pair, then the cheap checks that the model's constructor would only make after preprocessing."""
    from transformers.activations import ACT2FN

    flag = f"--config_overrides {overrides!r}"
    for item in overrides.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ValueError(f"{flag}: {item!r} is not `key=value` (e.g. `hidden_size=128,num_hidden_layers=2`).")
        if not hasattr(config, key):  # update_from_string's own rule
            raise ValueError(f"{flag}: {key!r} is not a config field; closest: {', '.join(close_fields(key, config))}.")
        try:
            config.update_from_string(f"{key}={value}")
        except (ValueError, TypeError) as error:
            kind = type(getattr(config, key)).__name__
            raise ValueError(f"{flag}: {key}={value} is not a valid {kind} ({error}).") from error
    for key in (
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "max_position_embeddings",
    ):
        if getattr(config, key) <= 0:
            raise ValueError(f"{flag}: {key} must be positive, got {getattr(config, key)}.")
    if config.hidden_size % config.num_attention_heads:
        raise ValueError(
            f"{flag}: hidden_size {config.hidden_size} is not a multiple of num_attention_heads "
            f"{config.num_attention_heads}."
        )
    if config.hidden_act not in ACT2FN:
        raise ValueError(f"{flag}: hidden_act {config.hidden_act!r} is unknown; e.g. gelu, relu, silu.")


def close_fields(key: str, config: LangSAMPConfig) -> list[str]:
    import difflib

    return difflib.get_close_matches(key, list(config.to_dict()), n=3, cutoff=0.5) or ["(see config.json)"]


def check_lengths(config: LangSAMPConfig, data_args: DataArguments) -> None:
    # RoBERTa positions start after the padding index: max_position_embeddings - pad_token_id - 1 usable positions.
    usable = config.max_position_embeddings - (config.pad_token_id or 0) - 1
    if data_args.max_seq_length > usable:
        raise ValueError(
            f"--max_seq_length {data_args.max_seq_length} exceeds the model's {usable} positions "
            f"(max_position_embeddings={config.max_position_embeddings}): lower it."
        )


class ExpectedLoadReports(logging.Filter):
    """Drops transformers' two load messages that every continual-pretraining run repeats and that say nothing new:
    a stock XLM-R config read into a LangSAMP config (the documented starting point), and a LOAD REPORT whose only
    rows are the two new tables (LangSAMPForMaskedLM.from_pretrained says that in one line). Any other key in a
    report (a real mismatch) keeps the whole report."""

    def filter(self, record):
        message = record.getMessage()
        if "to instantiate a model of type `langsamp`" in message and "model of type `xlm-roberta`" in message:
            return False
        if "LOAD REPORT" in message:
            keys = re.findall(r"^(\S+)\s+\|", message, flags=re.MULTILINE)
            keys = [key for key in keys if key != "Key"]
            return not keys or not all(key.startswith("language_script_embeddings.") for key in keys)
        return True


def quiet_expected_load_reports() -> None:
    for name in (
        "transformers.configuration_utils",
        "transformers.modeling_utils",
        "transformers.utils.loading_report",
    ):
        target = logging.getLogger(name)
        if not any(isinstance(f, ExpectedLoadReports) for f in target.filters):
            target.addFilter(ExpectedLoadReports())


def load_model(model_args: ModelArguments, config: LangSAMPConfig, tokenizer: LangSAMPTokenizer) -> LoadedModel:
    """The model, its vocabulary grown to the tokenizer's when that is larger (vocabulary_extension.py: rows matched
    by piece, or --vocab_init resize)."""
    grown = None
    if model_args.model_name_or_path:
        model, info, grown = load_checkpoint(model_args, config)
        untrained_head = untrained_head_reason(model.config, info["missing_keys"])
    else:
        model = LangSAMPForMaskedLM(config)
        untrained_head = None  # everything is random: a warm-up of the head on a random encoder buys nothing
    if hasattr(model.config, UNTRAINED_HEAD_FIELD):  # the checkpoints of this run will have a trained head
        delattr(model.config, UNTRAINED_HEAD_FIELD)
    # With labels, the LM head runs at the masked positions only, its logits in chunks (faster, less memory). Saved
    # folders say off (LangSAMPTrainer._save_checkpoint, and the final save).
    training_head(model.config, on=True)
    extension = None
    if len(tokenizer) > model.config.vocab_size:
        old_vocab = (
            checkpoint_vocabulary(model_args, model.config.vocab_size) if model_args.vocab_init == "by_piece" else {}
        )
        extension = extend_vocabulary(model, old_vocab, tokenizer.get_vocab(), model_args.vocab_init)
        logger.info(extension.summary())
    return LoadedModel(model, untrained_head, extension, grown)


def load_checkpoint(
    model_args: ModelArguments, config: LangSAMPConfig
) -> tuple[LangSAMPForMaskedLM, dict, dict | None]:
    """(model, loading info, the rows appended): the checkpoint's tables grown to `config`'s inventory when that
    appends codes to the checkpoint's (table_rows.py: where the new rows start)."""
    old = checkpoint_tables(model_args.model_name_or_path)
    inventory = (list(config.languages), list(config.scripts))
    grows = old is not None and (old[0], old[1]) != inventory
    if grows:
        config.languages, config.scripts = old[0], old[1]  # the checkpoint's table shapes load first
    model, info = LangSAMPForMaskedLM.from_pretrained(
        model_args.model_name_or_path, config=config, output_loading_info=True
    )
    if not grows:
        return model, info, None
    model.config.languages, model.config.scripts = inventory
    return model, info, grow_tables(model, (old[0], old[1]), old[2], model_args)


def checkpoint_tables(source: str) -> tuple[list[str], list[str], list[str] | None] | None:
    """(languages, scripts, trained_pairs) of a LangSAMP or release checkpoint's own config: the rows its tables
    have; None for a checkpoint without tables (stock XLM-R)."""
    raw = LangSAMPConfig.get_config_dict(source)[0]
    if "languages" not in raw and "lang_size" not in raw:
        return None
    saved = LangSAMPConfig.from_pretrained(source)
    return list(saved.languages), list(saved.scripts), saved.trained_pairs


def checkpoint_vocabulary(model_args: ModelArguments, rows: int) -> dict[str, int]:
    """{piece: id} of the vocabulary the checkpoint was trained with: its own tokenizer files, else (a checkpoint
    with XLM-R's 250,002 rows and no tokenizer) XLM-R's."""
    if model_args.model_name_or_path:
        try:
            return LangSAMPTokenizer.from_pretrained(model_args.model_name_or_path).get_vocab()
        except (OSError, ValueError):
            pass
    from langsamp.resources.xlmr_tokenizer import default_tokenizer

    vocab = default_tokenizer().get_vocab()
    if len(vocab) != rows:
        raise ValueError(
            f"{model_args.model_name_or_path or 'The model'} has {rows} vocabulary rows and no tokenizer of its own to "
            "match them by piece with --tokenizer_name: add its tokenizer files, or pass --vocab_init resize."
        )
    logger.warning("No tokenizer next to the checkpoint: matching its %d rows to XLM-R's pieces.", rows)
    return vocab


def total_optimizer_steps(training_args: TrainingArguments, train_dataset: Any) -> int:
    """The run's optimizer steps, as the Trainer will count them."""
    if training_args.max_steps > 0:
        return training_args.max_steps
    per_step = training_args.per_device_train_batch_size * training_args.world_size
    batches = (
        math.ceil(len(train_dataset) / per_step)
        if not training_args.dataloader_drop_last
        else len(train_dataset) // per_step
    )
    return math.ceil(training_args.num_train_epochs * max(batches // training_args.gradient_accumulation_steps, 1))


def resolve_head_warmup(
    model_args: ModelArguments,
    training_args: TrainingArguments,
    loaded: LoadedModel,
    train_dataset: Any,
    resume: str | None,
) -> HeadWarmup:
    """The run's HeadWarmup: --head_warmup_steps when given; left out, the one the resumed checkpoint recorded (a
    resumed run keeps its stages), else on (auto_steps) when the start has no trained MLM head, else off."""
    steps, learning_rate = model_args.head_warmup_steps, model_args.head_warmup_learning_rate
    recorded = recorded_head_warmup(resume) if resume is not None else None
    reason = loaded.untrained_head
    config = loaded.model.config
    began = (recorded or {}).get("steps", 0)  # check_resume refused a switch between none and some
    if steps is None and resume is not None:  # a resumed run keeps its stages (none, for a checkpoint without a record)
        steps, learning_rate, reason = (
            (began, recorded["learning_rate"], recorded.get("reason")) if began else (0, learning_rate, None)
        )
    elif steps is None:
        steps = auto_steps(total_optimizer_steps(training_args, train_dataset)) if reason else 0
        if reason:
            logger.info(
                "Head warm-up ON (%s): the first %d steps train only the LM head and the tables (lr %g), then "
                "everything. --head_warmup_steps 0 turns it off.",
                reason,
                steps,
                learning_rate,
            )
    elif recorded is not None and (steps, learning_rate) != (recorded["steps"], recorded["learning_rate"]):
        logger.warning(
            "Resuming with --head_warmup_steps %d --head_warmup_learning_rate %g where the run began with %d "
            "and %g: the stages and learning rates from here on follow the new values.",
            steps,
            learning_rate,
            recorded["steps"],
            recorded["learning_rate"],
        )
    if steps and reason is None and model_args.head_warmup_steps is None:
        reason = "as the run began"
    warmup = HeadWarmup(steps, learning_rate, reason)
    if (
        warmup.steps
        and str(getattr(training_args.lr_scheduler_type, "value", training_args.lr_scheduler_type))
        == "reduce_lr_on_plateau"
    ):
        # (an explicit --head_warmup_steps is refused earlier, in check_head_warmup_flags; this is auto or a resume)
        raise ValueError(
            f"--lr_scheduler_type reduce_lr_on_plateau cannot follow the head warm-up ({reason}; it is not a step-wise "
            "schedule): use linear, cosine, constant, ... or pass --head_warmup_steps 0."
        )
    if warmup.steps and config.use_lang_embedding is False and config.use_script_embedding is False:
        logger.info("Head warm-up without LangSAMP tables (the paper's baseline): only the LM head trains in it.")
    if warmup.steps and training_args.world_size > 1:
        # The body's parameters receive no gradient during the warm-up: DDP must look for unused parameters.
        if training_args.ddp_find_unused_parameters is False:
            raise ValueError(
                "--head_warmup_steps under DDP needs --ddp_find_unused_parameters true (the encoder gets no gradient "
                "during the warm-up); leave that flag out or set it true, or pass --head_warmup_steps 0."
            )
        training_args.ddp_find_unused_parameters = True
    total = total_optimizer_steps(training_args, train_dataset)
    if warmup.steps >= total:
        logger.warning(
            "--head_warmup_steps %d covers the whole run (%d steps): only the LM head and the tables will "
            "train (a linear probe).",
            warmup.steps,
            total,
        )
    return warmup
