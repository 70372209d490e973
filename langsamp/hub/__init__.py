"""Hub-ready LangSAMP folders: safetensors weights, the config's `auto_map`, the tokenizer, the remote-code modules
and the model card, written and optionally pushed (`export`: `langsamp-export`; `python export.py` in a checkout)."""
