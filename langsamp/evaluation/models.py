"""Loading checkpoints for evaluation: ours, the authors' release format, stock XLM-R or any Hugging Face encoder,
with the matching tokenizer."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


def checkpoint_config(path: str | Path) -> dict:
    """The raw config.json dict of a checkpoint (local folder or cached Hub id)."""
    from transformers import PretrainedConfig

    config, _ = PretrainedConfig.get_config_dict(str(path))
    return config


def probe_hub(repo_id: str | Path, repo_type: str = "model", token: str | None = None) -> None:
    """One quick request for a Hub repo's page before the libraries' own downloads, which retry a refused connection
    for ~30 s printing each retry. Raises ConnectionError (the Hub unreachable) or ValueError (no such repo); does
    nothing offline, for a local path, or for any other answer (gated, rate-limited: the libraries say what it
    means)."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    if constants.HF_HUB_OFFLINE or Path(str(repo_id)).expanduser().exists():
        return
    try:
        HfApi().repo_info(str(repo_id), repo_type=repo_type, token=token)
    except RepositoryNotFoundError as error:
        raise ValueError(
            f"{repo_type.capitalize()} {str(repo_id)!r} is not on the Hub (or is private: pass --token or set "
            "HF_TOKEN); pass the right id, or a local folder."
        ) from error
    except HfHubHTTPError:
        return
    except Exception as error:  # the HTTP client's connection errors
        raise ConnectionError(f"{type(error).__name__}: {error}") from error


def is_langsamp_checkpoint(path: str | Path) -> bool:
    """True for our checkpoints (`model_type: langsamp`) and the authors' release format (`lang_size` field)."""
    config = checkpoint_config(path)
    return config.get("model_type") == "langsamp" or "lang_size" in config


def is_langsamp_model(model: PreTrainedModel) -> bool:
    return getattr(model.config, "model_type", None) == "langsamp"


def load_model(path: str | Path, kind: str = "encoder", **kwargs) -> PreTrainedModel:
    """Load a checkpoint for one use.

    kind: "encoder" (retrieval), "masked-lm", "sequence-classification" or "token-classification".
    LangSAMP checkpoints (ours or the release format) load with this checkout's classes, anything else
    (stock XLM-R, other encoders) with transformers' Auto classes. Attention is sdpa unless `kwargs` say otherwise.
    """
    kinds = ("encoder", "masked-lm", "sequence-classification", "token-classification")
    if kind not in kinds:
        raise ValueError(f"Unknown model kind {kind!r}: use one of {', '.join(kinds)}.")
    kwargs.setdefault("attn_implementation", "sdpa")
    if is_langsamp_checkpoint(path):
        import modeling_langsamp as ours

        cls = {
            "encoder": ours.LangSAMPModel,
            "masked-lm": ours.LangSAMPForMaskedLM,
            "sequence-classification": ours.LangSAMPForSequenceClassification,
            "token-classification": ours.LangSAMPForTokenClassification,
        }[kind]
    else:
        import transformers

        cls = {
            "encoder": transformers.AutoModel,
            "masked-lm": transformers.AutoModelForMaskedLM,
            "sequence-classification": transformers.AutoModelForSequenceClassification,
            "token-classification": transformers.AutoModelForTokenClassification,
        }[kind]
    if kind in ("sequence-classification", "token-classification"):
        report = _DownstreamLoadReport()
        target = logging.getLogger("transformers.modeling_utils")  # the logger transformers writes the report with
        target.addFilter(report)
        try:
            model = cls.from_pretrained(str(path), **kwargs).eval()
        finally:
            target.removeFilter(report)
        if report.muted:
            logger.info("%s: a new %s head; its masked-LM head and tables are not used downstream.", path, kind)
        return model
    if kind != "encoder":
        return cls.from_pretrained(str(path), **kwargs).eval()
    # A masked-LM checkpoint loaded as a bare encoder leaves its LM head out: expected, so the load report is muted.
    from transformers.utils import logging as transformers_logging

    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    if checkpoint_config(path).get("model_type") in ("langsamp", "xlm-roberta", "roberta", "bert"):
        kwargs.setdefault("add_pooling_layer", False)  # retrieval pools hidden states itself
    try:
        return cls.from_pretrained(str(path), **kwargs).eval()
    finally:
        transformers_logging.set_verbosity(verbosity)


class _DownstreamLoadReport(logging.Filter):
    """A masked-LM checkpoint loaded for classification: transformers' LOAD REPORT then lists the new classifier
    (MISSING) and the LM head and tables (UNEXPECTED), 14 lines that are what fine-tuning means. Such a report is
    dropped (one info line instead); a report with any other key (a real mismatch) is kept whole."""

    EXPECTED = ("classifier.", "lm_head.", "language_script_embeddings.")

    def __init__(self):
        super().__init__()
        self.muted = False

    def filter(self, record):
        message = record.getMessage()
        if "LOAD REPORT" not in message:
            return True
        keys = [key for key in re.findall(r"^(\S+)\s+\|", message, flags=re.MULTILINE) if key != "Key"]
        if keys and all(key.startswith(self.EXPECTED) for key in keys):
            self.muted = True
            return False
        return True


def max_tokens(model: PreTrainedModel, max_length: int) -> int:
    """`max_length` capped by the model's position table (RoBERTa-style models start positions at pad_id + 1)."""
    config = model.config
    positions = getattr(config, "max_position_embeddings", None)
    if positions is None:
        return max_length
    if getattr(config, "model_type", "") in ("langsamp", "xlm-roberta", "roberta"):
        positions -= (config.pad_token_id or 0) + 1
    return min(max_length, positions)


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    """The checkpoint's tokenizer: LangSAMPTokenizer for XLM-R-family checkpoints (same ids as the stock one; it
    also emits language / script ids), else AutoTokenizer. A checkpoint folder without tokenizer files falls back
    to the built-in XLM-R tokenizer (langsamp.resources.xlmr_tokenizer.default_tokenizer), said in one warning."""
    from transformers import AutoTokenizer

    from tokenization_langsamp import LangSAMPTokenizer

    config = checkpoint_config(path)
    xlmr_family = config.get("model_type") in ("langsamp", "xlm-roberta")
    folder = Path(str(path))
    has_files = not folder.is_dir() or any(
        (folder / name).exists() for name in ("tokenizer.json", "tokenizer_config.json", "sentencepiece.bpe.model")
    )
    if xlmr_family and not has_files:
        return _builtin_tokenizer(config, f"{path} has no tokenizer files")
    if xlmr_family:
        return LangSAMPTokenizer.from_pretrained(str(path))
    return AutoTokenizer.from_pretrained(str(path))


def _builtin_tokenizer(config, why):
    """The built-in XLM-R tokenizer with the model's language / script inventories, and one warning line saying so."""
    from langsamp.resources.xlmr_tokenizer import default_tokenizer

    logger.warning("%s: using the built-in XLM-R tokenizer (langsamp.resources.xlmr_tokenizer.default_tokenizer).", why)
    extra = {key: config[key] for key in ("languages", "scripts") if config.get(key)}
    return default_tokenizer("--tokenizer", **extra)


def resolve_model(model: str | Path | PreTrainedModel, kind: str) -> PreTrainedModel:
    """`model` itself when it is a loaded model, else the checkpoint at that path loaded for `kind` (load_model)."""
    return load_model(model, kind) if isinstance(model, (str, Path)) else model


def resolve_tokenizer(
    tokenizer: str | Path | PreTrainedTokenizerBase | None, model: str | Path | PreTrainedModel
) -> PreTrainedTokenizerBase:
    """The tokenizer to evaluate `model` with: `tokenizer` when given (a folder or Hub id loads), else the checkpoint's
    own. For a path that is the path's; for a loaded model the checkpoint it was loaded from (`name_or_path`). Without
    one (a model built in memory, a checkpoint that cannot give a tokenizer) the built-in XLM-R tokenizer, said in one
    warning. Callers resolve it before they load the model from a path."""
    if tokenizer is not None:
        return load_tokenizer(tokenizer) if isinstance(tokenizer, (str, Path)) else tokenizer
    if isinstance(model, (str, Path)):
        return load_tokenizer(model)
    source = str(getattr(model, "name_or_path", "") or "")
    if source:
        try:
            return load_tokenizer(source)
        except (OSError, ValueError) as error:  # a folder since removed, a Hub id not in the cache offline
            why = f"the model's checkpoint {source!r} gives no tokenizer ({type(error).__name__})"
    else:
        why = "the model was not loaded from a checkpoint, so it names no tokenizer"
    return _builtin_tokenizer(model.config.to_dict(), why)
