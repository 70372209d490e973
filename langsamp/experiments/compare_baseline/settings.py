"""The comparison's recipe (the defaults of its flags, the flags every pretraining run gets) and the settings that
decide what its runs and its evaluations are."""

from __future__ import annotations

import argparse

from langsamp.resources.demo import DEMO_LANGUAGES

LANGUAGES = list(DEMO_LANGUAGES)

# The two-stage recipe of train.py's demo: e5 has no trained LM head, and a fresh head's gradients distort the
# pretrained encoder before the head has learned anything (bench/results/compare-baseline.md has a one-stage run for
# contrast). So the first HEAD_WARMUP_STEPS train only the LM head and the LangSAMP tables (encoder and word
# embeddings frozen) at a high lr, then everything at the paper's 5e-5. Steps count the warm-up. Fewer full-stage
# steps than the demo's, so that 3 seeds x 2 variants stay affordable on a CPU.
MAX_STEPS = 160
HEAD_WARMUP_STEPS = 100
HEAD_WARMUP_LEARNING_RATE = 1e-3
LEARNING_RATE = 5e-5
# The topic fine-tuning (45 English paragraphs, 6 classes): at lower learning rates the head learns too little in so
# few steps (bench/results/evaluation-examples.md).
CLASSIFY_EPOCHS = 10
CLASSIFY_LEARNING_RATE = 3e-4
CLASSIFY_BATCH_SIZE = 16
# 8 x 128-token chunks a step, a 10% lr warm-up of the full stage, no held-out MLM evaluation inside train.py.
TRAIN_DEFAULTS = [
    "--max_seq_length", "128",
    "--per_device_train_batch_size", "8",
    "--warmup_steps", "0.1",
    "--weight_decay", "0.0",
    "--logging_steps", "10",
    "--save_strategy", "no",
    "--max_eval_samples", "0",
    "--dataloader_num_workers", "0",
    "--report_to", "none",
]  # fmt: skip

VARIANTS = {
    "baseline": ["--use_lang_embedding", "False", "--use_script_embedding", "False"],
    "langsamp": ["--use_lang_embedding", "True", "--use_script_embedding", "True"],
}
COLUMNS = ("start", "baseline", "langsamp")

# Settings that decide what the pretraining runs are: an --output_dir made with others is not reused.
TRAINING_SETTINGS = ("model", "languages", "max_steps", "head_warmup_steps", "head_warmup_learning_rate",
                     "learning_rate", "train_args")  # fmt: skip
# Settings that decide the evaluations: a cached evaluation made with others is computed again.
EVALUATION_SETTINGS = ("layers", "classify_epochs", "classify_learning_rate", "classify_batch_size", "probe_folds",
                       "mlm_sentences", "mask_rounds", "max_length", "languages")  # fmt: skip
SETTINGS_FILE = "settings.json"


def settings_of(args: argparse.Namespace, names: tuple[str, ...]) -> dict:
    """{name: value} of the named flags."""
    return {name: getattr(args, name) for name in names}


def train_arguments(args: argparse.Namespace) -> list[str]:
    """The flags every train.py run gets besides model, corpus, output, steps and seed."""
    warmup = ["--head_warmup_steps", str(args.head_warmup_steps),
              "--head_warmup_learning_rate", str(args.head_warmup_learning_rate)]  # fmt: skip
    # Always explicit: left out, train.py's auto rule would turn a warm-up on for an encoder without a trained head.
    return [*TRAIN_DEFAULTS, "--learning_rate", str(args.learning_rate), *warmup, *args.train_args]
