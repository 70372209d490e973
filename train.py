"""Continual pretraining of XLM-R-style encoders with LangSAMP's masked-LM objective on the stock Trainer.

    python train.py                     # the demo: a real pretrained encoder on the UDHR, figures before and after
    python train.py --help              # the script's arguments, then every TrainingArguments flag
    python train.py examples/paper.yaml --corpus /data/glot500 --output_dir runs/langsamp

The code is `langsamp/training/cli.py` and the modules beside it; `pip install .` installs it as the `langsamp-train`
command.
"""

from langsamp.training.cli import cli

if __name__ == "__main__":
    cli()
