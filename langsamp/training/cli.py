"""Continual pretraining of LangSAMP (arXiv 2409.18199) with the stock transformers Trainer.

    python train.py                                   # the embedded default (demo.py): the real e5 encoder on the UDHR
    python train.py --model_name_or_path FacebookAI/xlm-roberta-base --corpus /data/glot500 --output_dir runs/langsamp
    python train.py examples/paper.yaml --corpus /data/glot500 --output_dir runs/langsamp   # argument file + overrides
    torchrun --nproc_per_node 4 train.py examples/paper.yaml ...                            # DDP, or:
    accelerate launch --multi_gpu --num_processes 4 train.py examples/paper.yaml ...

Every `TrainingArguments` flag works (fp16/bf16, gradient accumulation, gradient checkpointing, report_to, deepspeed,
fsdp, push_to_hub, ...); `python train.py --help` lists them after this script's own (ModelArguments, DataArguments).

What this script adds to the stock Trainer, and why:
* every checkpoint folder, the output folder and every Hub revision pushed during training also hold the
  remote-code `.py` files and a model card with the run's metadata, so each loads with
  `AutoModelForMaskedLM.from_pretrained(..., trust_remote_code=True)` (the Trainer pushes only config, weights and
  tokenizer): `HubReadyCheckpoints`;
* a Hub that is down or refuses the token is reported and never stops training: `LangSAMPTrainer`;
* `--resume_from_checkpoint auto` picks the newest COMPLETE checkpoint (a run killed while saving leaves a
  half-written folder that the Trainer's own `get_last_checkpoint` would pick);
* one run per `--output_dir`: a second run into a folder a live run is writing stops with one line naming it
  (run_lock.py); a checkpoint that cannot be written (a full disk) ends the run with one line naming the last
  complete one, its half-written folder removed (`LangSAMPTrainer`); so does a final save that cannot be written,
  its half-written model files removed from output_dir;
* the masked-LM loss is measured on held-out chunks before and after training with the SAME masks;
* `--head_warmup_steps N`: the first N steps train only the LM head and the language/script tables, then everything
  (LP-FT: a new head's gradients would otherwise distort the pretrained encoder); on by default when the start has
  no trained MLM head (callbacks/head_warmup.py).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import datasets
import torch
import transformers
from transformers import TrainerCallback, TrainingArguments, set_seed

from langsamp.command_name import command_name
from langsamp.data import (
    Corpus,
    PairMixture,
    ResumableMasking,
    build,
    make_collator,
    mask_once,
    offered_labels,
    open_corpus,
    split_held_out,
)
from langsamp.training.allocator import keep_large_blocks
from langsamp.training.argument_checks import alpha_schedule, check_arguments, mlm_schedule
from langsamp.training.arguments import DataArguments, ModelArguments, parse_arguments
from langsamp.training.builders import (
    check_lengths,
    load_config,
    load_model,
    load_tokenizer,
    quiet_expected_load_reports,
    resolve_head_warmup,
)
from langsamp.training.callbacks.demo_probes import DemoProbes
from langsamp.training.callbacks.held_out_loss import HeldOutLoss
from langsamp.training.callbacks.hub_ready import HubReadyCheckpoints
from langsamp.training.callbacks.save_on_interrupt import SaveOnInterrupt
from langsamp.training.errors import BadInput, Interrupted, bad_input
from langsamp.training.growing import grow_inventory
from langsamp.training.line_rules import line_rules
from langsamp.training.model_card import RunCard
from langsamp.training.resume import (
    RUN_RECORD_NAME,
    check_resume,
    data_record,
    interruption_message,
    resolve_resume,
    resumed_step,
    run_parts,
    save_failure_message,
    trained_pairs_of,
    write_run_record,
)
from langsamp.training.run_lock import RunLock
from langsamp.training.schedules import build_phased_data, scheduled_stages
from langsamp.training.session import Session, save, train
from langsamp.training.summary import RunFacts, print_summary, summary_of
from langsamp.training.trainer import CheckpointNotSaved, LangSAMPTrainer

logger = logging.getLogger(__name__)


@dataclass
class Run:
    """What the checks resolved before any data or model work: where the run starts and what it trains on."""

    model_args: ModelArguments
    data_args: DataArguments
    training_args: TrainingArguments
    demo: bool
    resume: str | None
    start_step: int
    tokenizer: Any
    corpus: Corpus
    config: Any
    parts: list[dict]
    changes: list[str]
    rules: Any = None  # LineRules: the lines the build drops
    stages: dict[str, float] | None = None  # {pair: the step fraction it joins at}; None: the run has no schedule


@dataclass
class Data:
    train: Any
    held_out: Any  # the held-out chunks, masked once; None when there are too few to hold some out
    mixture: PairMixture


def command_arguments(argv: Sequence[str] | None) -> tuple[list[str], bool]:
    """(argv, is the demo): no arguments at all run the embedded default."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv:
        return argv, False
    from langsamp.resources.demo import demo_argv

    with bad_input():
        return demo_argv(), True


def configure_logging(training_args: TrainingArguments) -> None:
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S", level=logging.WARNING
    )
    # this package's training steps: rank 0 only
    logging.getLogger("langsamp.training").setLevel(logging.INFO if training_args.should_log else logging.WARNING)
    # the lines --dedup / --exclude_eval drop: what is dropped, and each streamed pair's counts when read through
    for name in ("langsamp.data.pipeline", "langsamp.data.chunking"):
        logging.getLogger(name).setLevel(logging.INFO if training_args.should_log else logging.WARNING)
    log_level = training_args.get_process_log_level()
    if log_level >= 0:  # --log_level (default "passive": the libraries keep their own levels)
        datasets.utils.logging.set_verbosity(log_level)
        transformers.utils.logging.set_verbosity(log_level)
    if training_args.dataloader_pin_memory and training_args.device.type == "cpu":
        # Pinning needs an accelerator: on CPU it does nothing, and torch warns about it on every dataloader.
        training_args.dataloader_pin_memory = False
    quiet_expected_load_reports()


def check_run(
    model_args: ModelArguments, data_args: DataArguments, training_args: TrainingArguments, demo: bool
) -> Run:
    """Everything that can be wrong with the input, cheapest first, before any data or model work."""
    check_arguments(model_args, data_args, training_args)
    resume = resolve_resume(training_args, start_over=demo)
    tokenizer = load_tokenizer(model_args)
    grow_inventory(tokenizer, offered_labels(data_args.corpus), data_args.languages)
    corpus = open_corpus(
        data_args.corpus,
        tokenizer,
        languages=data_args.languages,
        split=data_args.corpus_split,
        streaming=data_args.streaming,
        cache_dir=data_args.cache_dir,
    )
    rules = line_rules(data_args, corpus.labels)
    stages = scheduled_stages(data_args, corpus.labels)
    config = load_config(model_args, tokenizer)
    check_lengths(config, data_args)
    if resume is not None:
        check_resume(resume, config, training_args, model_args.head_warmup_steps)
    start_step = resumed_step(resume)
    parts, changes = run_parts(training_args.output_dir, data_record(data_args, corpus.labels), start_step)
    return Run(
        model_args,
        data_args,
        training_args,
        demo,
        resume,
        start_step,
        tokenizer,
        corpus,
        config,
        parts,
        changes,
        rules=rules,
        stages=stages,
    )


def samples_per_run(data_args: DataArguments, training_args: TrainingArguments) -> int | None:
    """Rows of the non-streaming mixture: with --max_steps, the whole run is ONE draw from p_l ~ n_l^alpha (plus the
    held-out rows), so large pairs keep contributing new chunks; otherwise one epoch = as many rows as chunks."""
    if data_args.streaming or training_args.max_steps <= 0:
        return None
    batch = (
        training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps * training_args.world_size
    )
    return training_args.max_steps * batch + max(data_args.max_eval_samples, 0)


def build_data(run: Run) -> Data:
    """Tokenised, chunked per pair and sampled with p_l ~ n_l^alpha (rank 0 builds and caches it first); the held-out
    chunks split off and masked once."""
    data_args, training_args = run.data_args, run.training_args
    if run.stages is not None:
        train, held_out, mixture = build_phased_data(
            run.corpus, run.tokenizer, data_args, training_args, run.stages, run.rules
        )
        return Data(train, held_out, mixture)
    with training_args.main_process_first(desc="preprocessing the corpus"):
        dataset, mixture = build(
            run.corpus,
            run.tokenizer,
            max_seq_length=data_args.max_seq_length,
            sampling_alpha=alpha_schedule(data_args).phases[0][1],
            sampling=data_args.sampling,
            streaming=data_args.streaming,
            seed=training_args.seed,
            num_proc=data_args.preprocessing_num_workers,
            cache_dir=data_args.cache_dir,
            num_samples=samples_per_run(data_args, training_args),
            rules=run.rules,
        )
        logger.info("%s", mixture.summary())
        distinct = None if mixture.estimated else sum(mixture.sizes.values())
        train, held_out = split_held_out(
            dataset, data_args.max_eval_samples, data_args.preprocessing_num_workers, distinct_chunks=distinct
        )
    if held_out is not None:
        held_out = mask_once(held_out, run.tokenizer, mlm_schedule(data_args).phases[0][1], training_args.seed)
    elif str(getattr(training_args.eval_strategy, "value", training_args.eval_strategy)) != "no":
        raise ValueError(
            "--eval_strategy needs held-out chunks, and the corpus has too few to hold some out: "
            "leave --eval_strategy out, or give more text."
        )
    return Data(train, held_out, mixture)


def record_run(run: Run) -> None:
    """The run record in output_dir, and the pairs every checkpoint will say it was trained on."""
    if run.changes:
        logger.warning(
            "Resuming %s at step %d with other data arguments than before: %s. Training goes on; %s and the model card "
            "record both parts.",
            run.resume,
            run.start_step,
            "; ".join(run.changes),
            RUN_RECORD_NAME,
        )
    if run.training_args.process_index == 0:
        write_run_record(run.training_args.output_dir, run.parts)
    # Recorded in config.json and tokenizer_config.json of every checkpoint (set after the data step: the tokenizer
    # is part of the preprocessing cache's fingerprint).
    run.config.trained_pairs = trained_pairs_of(run.config.trained_pairs, run.parts)
    run.tokenizer.trained_pairs = run.config.trained_pairs
    if run.config.trained_pairs is None:
        logger.warning(
            "The checkpoint will not record which pairs it was trained on (config.trained_pairs): the base "
            "checkpoint or the corpus does not say."
        )


def build_trainer(run: Run, data: Data, callbacks: Sequence[TrainerCallback]) -> Session:
    """The model (seeded first, so a random initialisation is reproducible), its head warm-up, and the Trainer."""
    model_args, training_args = run.model_args, run.training_args
    if training_args.torch_compile:  # the masked-only head's nonzero stays inside the one compiled graph
        torch._dynamo.config.capture_dynamic_output_shape_ops = True
    set_seed(training_args.seed)
    loaded = load_model(model_args, run.config, run.tokenizer)
    model = loaded.model
    n_params = sum(p.numel() for p in model.parameters())
    logger.info(
        "Model: %.1fM parameters; tables: languages %s, scripts %s.",
        n_params / 1e6,
        model.config.use_lang_embedding,
        model.config.use_script_embedding,
    )
    with bad_input():
        head_warmup = resolve_head_warmup(model_args, training_args, loaded, data.train, run.resume)
    losses: dict[str, float] = {}
    card = RunCard(
        parts=run.parts,
        pairs=run.corpus.labels,
        model_languages=list(model.config.languages),
        mixture=data.mixture,
        head_warmup=head_warmup,
        losses=losses,
        vocabulary_extension=loaded.vocabulary_extension,
        base_model=model_args.model_name_or_path,
        demo=run.demo,
        grown_rows=loaded.grown_rows,
    )
    save_on_interrupt = SaveOnInterrupt()
    masking = ResumableMasking(
        make_collator(run.tokenizer, mlm_probability=mlm_schedule(run.data_args).phases[0][1]), training_args.seed
    )
    trainer = LangSAMPTrainer(
        model=model,
        args=training_args,
        train_dataset=data.train,
        eval_dataset=data.held_out,
        processing_class=run.tokenizer,
        data_collator=masking,
        card_metadata=card,
        head_warmup=head_warmup,
        callbacks=[HubReadyCheckpoints(model.config, card), head_warmup, save_on_interrupt, *callbacks],
    )
    held_out = None
    if data.held_out is not None:
        held_out = HeldOutLoss(trainer, losses)
        trainer.add_callback(held_out)
    probes = None
    if run.demo and trainer.is_world_process_zero():
        probes = DemoProbes(run.tokenizer, run.corpus.labels)
        trainer.add_callback(probes)
    return Session(trainer, head_warmup, held_out, probes, save_on_interrupt, card, n_params)


def main(argv: Sequence[str] | None = None, callbacks: Sequence[TrainerCallback] = ()) -> dict | None:
    """Run train.py with `argv` (default: sys.argv[1:]; empty = the demo). `callbacks` are extra TrainerCallbacks.
    Returns the summary's figures on rank 0 (None elsewhere)."""
    keep_large_blocks()  # the step's embedding-sized blocks stay in the heap, not re-faulted every step
    argv, demo = command_arguments(argv)
    with bad_input():
        model_args, data_args, training_args = parse_arguments(argv)
    configure_logging(training_args)
    # Only the process that saves locks: the ranks of one run share the folder.
    with RunLock(training_args.output_dir, enabled=training_args.should_save) as lock:
        with bad_input():
            lock.acquire(create=False)  # a live run in an existing folder: said before any check reads the folder
            run = check_run(model_args, data_args, training_args, demo)
            lock.acquire()  # creates the folder: after the checks, so that bad input leaves nothing behind
            data = build_data(run)
        return train_and_save(run, data, callbacks)


def train_and_save(run: Run, data: Data, callbacks: Sequence[TrainerCallback]) -> dict | None:
    """Training, the final save and the summary, with output_dir locked. The summary's figures on rank 0."""
    demo, data_args, training_args = run.demo, run.data_args, run.training_args
    record_run(run)
    session = build_trainer(run, data, callbacks)
    result, seconds = train(session, run)
    trainer = session.trainer
    try:  # the held-out loss after and the final save: a Ctrl-C here must not say "nothing was saved"
        pushed = save(session, result)
    except KeyboardInterrupt as interrupt:
        step = trainer.state.global_step
        when = f"after training (step {step}), before the final save ended"
        raise Interrupted(interruption_message(training_args, step, when)) from interrupt
    # Every rank waits for the final save, then leaves the process group: a rank that exits with gloo's worker
    # threads still running aborts ("terminate called without an active exception") and fails the whole launch.
    trainer.accelerator.wait_for_everyone()
    trainer.end()
    if not trainer.is_world_process_zero():
        return None
    batch = (
        training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps * training_args.world_size
    )
    facts = RunFacts(
        demo,
        trainer.state.global_step - run.start_step,
        batch,
        data_args.max_seq_length,
        seconds,
        session.n_params,
        session.card.grown_rows,
    )
    summary = summary_of(trainer, facts, session.card.losses, session.head_warmup, pushed)
    print_summary(summary, facts, trainer.model, training_args, session.probes.probes if session.probes else None)
    return summary


def cli(argv: Sequence[str] | None = None) -> None:
    """The command line (`python train.py`, `langsamp-train`): bad input is one line and exit status 2, Ctrl-C 130, a
    checkpoint or final model that could not be written (a full disk) one line and 1."""
    prog = command_name("train.py")
    try:
        summary = main(argv)
    except BadInput as error:
        # Bad input: one clear line (a traceback would add nothing for the user), non-zero exit, nothing trained.
        print(f"{prog}: error: {error}", file=sys.stderr)
        sys.exit(2)
    except Interrupted as interrupt:
        print(f"{prog}: {interrupt}", file=sys.stderr)
        sys.exit(130)  # the shell's code for Ctrl-C
    except KeyboardInterrupt:
        print(f"{prog}: interrupted before training started; nothing was trained or saved.", file=sys.stderr)
        sys.exit(130)
    except CheckpointNotSaved as failure:  # a full disk: the traceback would add nothing, the way on is what counts
        remedy = "free some space" if failure.disk_full else "fix that"
        print(f"{prog}: error: {save_failure_message(failure.output_dir, str(failure), remedy)}", file=sys.stderr)
        sys.exit(1)
    if summary and summary["final_push_failed"]:  # the model is saved; the run did not do all it was asked
        repo, folder = summary["hub_model_id"], summary["output_dir"]
        print(
            f"{prog}: error: the final push to {repo} failed (see the warnings); the model is saved in {folder}: "
            f"upload it with `hf upload {repo} {folder}`.",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    cli()
