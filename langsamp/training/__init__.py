"""Continual pretraining with LangSAMP's masked-LM objective on the stock `transformers.Trainer`.

* `train`                 the training CLI and its checks (`langsamp-train`; `python train.py` in a checkout);
* `head_warmup`           `--head_warmup_steps`: the new LM head and the tables train first, the encoder frozen;
* `save_on_interrupt`     Ctrl-C saves the step reached as a checkpoint, then stops;
* `vocabulary_extension`  growing a checkpoint's vocabulary to a larger tokenizer's, rows matched by piece.
"""
