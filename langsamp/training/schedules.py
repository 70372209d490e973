"""Schedules over a run, as mmBERT's: --sampling_alpha and --mlm_probability given as schedules, --language_stages.
The checks that need the corpus' pairs, and the data of a scheduled run (langsamp/data/schedule.py, phased.py)."""

from __future__ import annotations

import logging
from typing import Any

from datasets import Dataset
from transformers import TrainingArguments

from langsamp.data import Corpus, LineRules, PairMixture, RunSchedule, build_phased, mask_once
from langsamp.data.phased import describe_phase
from langsamp.data.schedule import parse_stages
from langsamp.training.argument_checks import alpha_schedule, mlm_schedule
from langsamp.training.arguments import DataArguments

logger = logging.getLogger(__name__)


def scheduled_stages(data_args: DataArguments, labels: list[str]) -> dict[str, float] | None:
    """{pair: the fraction it joins at} of a run with schedules (checked against the corpus' pairs); None without."""
    if (
        not data_args.language_stages
        and alpha_schedule(data_args).is_constant()
        and mlm_schedule(data_args).is_constant()
    ):
        return None
    return parse_stages(data_args.language_stages or [], labels)


def build_phased_data(
    corpus: Corpus,
    tokenizer: Any,
    data_args: DataArguments,
    training_args: TrainingArguments,
    stages: dict[str, float],
    rules: LineRules | None = None,
) -> tuple[Dataset, Dataset | None, PairMixture]:
    """(training rows, held-out chunks masked once or None, mixture) of a run with schedules: its rows in step order
    (each with its step's masking rate), read by a sequential sampler, so a step's mixture follows from the step
    alone (langsamp/data/phased.py). rules: the lines dropped (--dedup, --exclude_eval), as without schedules."""
    batch = (
        training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps * training_args.world_size
    )
    with training_args.main_process_first(desc="preprocessing the corpus"):
        phased = build_phased(
            corpus,
            tokenizer,
            RunSchedule(
                alpha=alpha_schedule(data_args),
                stages=stages,
                masking=mlm_schedule(data_args),
                total_steps=training_args.max_steps,
                rows_per_step=batch,
                held_out_rows=max(data_args.max_eval_samples, 0),
                sampling=data_args.sampling,
                seed=training_args.seed,
            ),
            max_seq_length=data_args.max_seq_length,
            num_proc=data_args.preprocessing_num_workers,
            cache_dir=data_args.cache_dir,
            rules=rules,
            streaming=data_args.streaming,
        )
    logger.info("%s", phased.mixture.summary())
    for record in phased.mixture.phases:
        logger.info("%s", describe_phase(record))
    training_args.train_sampling_strategy = "sequential"  # the rows are drawn in step order
    training_args.remove_unused_columns = False  # the masking rate column reaches ResumableMasking, which drops it
    held_out = phased.held_out
    if held_out is not None:
        held_out = mask_once(held_out, tokenizer, mlm_schedule(data_args).phases[0][1], training_args.seed)
    return phased.train, held_out, phased.mixture
