"""The new-languages experiment (langsamp/experiments/new_languages.py) end to end on a tiny model: the base run, the
three conditions per seed, the figures and the paired comparisons written."""

import json
import math

import torch
from fixtures.models import tiny_config

from langsamp.experiments import new_languages
from modeling_langsamp import LangSAMPForMaskedLM


def test_the_experiment_runs_every_condition_and_writes_its_comparisons(tmp_path, tokenizer):
    start = tmp_path / "start"
    torch.manual_seed(0)
    # trained on nothing yet (trained_pairs []): the base run's pairs are then recorded, which the typology start needs
    LangSAMPForMaskedLM(tiny_config(trained_pairs=[], max_position_embeddings=66)).save_pretrained(start)
    tokenizer.save_pretrained(start)
    argv = ["--output_dir", str(tmp_path / "out"), "--model", str(start), "--base", "eng_Latn", "deu_Latn", "fin_Latn"]
    argv += ["--new", "krl_Latn", "zgh_Tfng", "--seeds", "0", "--base_steps", "2", "--steps", "2"]
    argv += ["--max_seq_length", "32", "--batch_size", "4", "--mlm_sentences", "2"]
    summary = new_languages.main(argv)

    assert set(summary["results"]) == {"typology", "random", "annealed"}
    for per_seed in summary["results"].values():
        assert set(per_seed) == {0}
        for figures in per_seed.values():
            assert math.isfinite(figures["new_language_mlm_loss"]) and -1 <= figures["uriel_syntax_rho"] <= 1
    grown = json.loads((tmp_path / "out" / "seed0" / "typology" / "config.json").read_text())
    assert grown["languages"][-2:] == ["krl", "zgh"] and grown["added_rows"]["languages"]["krl"]["init"] == "typology"
    random = json.loads((tmp_path / "out" / "seed0" / "random" / "config.json").read_text())
    assert random["added_rows"]["languages"]["krl"]["init"] == "random"
    assert set(summary["comparisons"]) == {"typology - random", "annealed - typology"}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| typology - random | new_language_mlm_loss |" in report
