"""Continual pretraining with LangSAMP's masked-LM objective on the stock `transformers.Trainer`.

* `cli`                   `main`: parse, check, build the data, build the model and Trainer, train, save, summarise
                          (`langsamp-train`; `python train.py` in a checkout);
* `arguments`             `ModelArguments`, `DataArguments`, argument files and every check that needs no model;
* `resume`                resuming from the newest complete checkpoint, and the run record;
* `builders`              tokenizer, config, model (vocabulary grown to the tokenizer's) and the head warm-up;
* `trainer`               `LangSAMPTrainer`: the warm-up's stages, saved folders with the full head, Hub failures
                          that never stop training;
* `callbacks/`            head warm-up, Hub-ready checkpoints, held-out loss, save on Ctrl-C, the demo's probes;
* `model_card`, `summary` what the model card and the closing summary say about the run;
* `vocabulary_extension`  growing a checkpoint's vocabulary to a larger tokenizer's, rows matched by piece.
"""
