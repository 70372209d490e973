"""The sentence-transformers configuration a Hub folder carries: `SentenceTransformer(folder)` then mean-pools the
encoder's last layer with nothing else to set. Written in the long-standing format (`sentence_transformers.models.*`)
that every sentence-transformers release from 2.x on reads; sentence-transformers itself is not needed to write it."""

import json
from pathlib import Path

MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
]
POOLING_MODES = ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens", "lasttoken")


def write_sentence_transformers_config(folder: str | Path, hidden_size: int, max_seq_length: int) -> None:
    """modules.json, sentence_bert_config.json and 1_Pooling/config.json (mean pooling) into `folder`."""
    folder = Path(folder)
    pooling = {"word_embedding_dimension": hidden_size}
    pooling.update({f"pooling_mode_{mode}": mode == "mean_tokens" for mode in POOLING_MODES})
    pooling["include_prompt"] = True
    files = {
        "modules.json": MODULES,
        "sentence_bert_config.json": {"max_seq_length": max_seq_length, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": {},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": pooling,
    }
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
