"""compare_baseline.py's statistics (mean ± sd over seeds, the paired test, the 'exceeds seed spread' verdict) against
figures worked out by hand, and its command line on bad values."""

import math
import subprocess
import sys
from pathlib import Path

import pytest
from scipy.stats import t as student_t

import compare_baseline

REPO = Path(__file__).resolve().parent.parent


def seeds(values):
    return [{"m": value} for value in values]


def test_summary_statistics_by_hand():
    per_seed = {"start": seeds([50.0, 52.0, 54.0]), "baseline": seeds([60.0, 61.0, 65.0]), "langsamp": seeds([63.0, 64.5, 67.0])}
    (row,) = compare_baseline.summarise(per_seed)
    assert row["baseline"]["mean"] == pytest.approx(62.0)
    # sample sd (n - 1): deviations -2, -1, 3 -> sqrt(14 / 2)
    assert row["baseline"]["sd"] == pytest.approx(math.sqrt(7.0))
    assert row["start"]["sd"] == pytest.approx(2.0)
    # paired differences 3, 3.5, 2: mean 2.8333, sd sqrt(((1/6)^2 + (2/3)^2 + (5/6)^2) / 2)
    diffs = [3.0, 3.5, 2.0]
    mean = sum(diffs) / 3
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 2)
    assert row["difference"]["mean"] == pytest.approx(mean) and row["difference"]["sd"] == pytest.approx(sd)
    t_value = mean / (sd / math.sqrt(3))
    assert row["p"] == pytest.approx(2 * student_t.sf(t_value, df=2))
    # p ~ 0.02, and the difference (2.83) exceeds both variants' sd (baseline 2.65, LangSAMP 2.02)
    assert row["p"] < 0.05 and row["exceeds_spread"]


def test_a_difference_within_the_spread_is_not_claimed():
    per_seed = {"start": seeds([1.0, 1.0, 1.0]), "baseline": seeds([60.0, 70.0, 80.0]), "langsamp": seeds([61.0, 71.2, 80.9])}
    (row,) = compare_baseline.summarise(per_seed)
    assert row["p"] < 0.05 and abs(row["difference"]["mean"]) < row["baseline"]["sd"]
    assert not row["exceeds_spread"]  # consistent sign, but far smaller than the seed spread
    equal = compare_baseline.summarise({"start": seeds([1.0, 1.0]), "baseline": seeds([5.0, 6.0]), "langsamp": seeds([5.0, 6.0])})[0]
    assert math.isnan(equal["p"]) and not equal["exceeds_spread"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seeds", "1"], "at least 2"),
        (["--seeds", "1", "1", "2"], "repeated seeds"),
        (["--languages", "deu_Latn", "rus_Cyrl"], "must include eng_Latn"),
        (["--max_steps", "0"], "--max_steps must be >= 1"),
        (["--model", "no/such/folder/here"], "--model no/such/folder/here: no such folder"),
    ],
)
def test_bad_values_give_one_line_and_exit_2(argv, message, tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "compare_baseline.py"), "--output_dir", str(tmp_path / "c"), *argv],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("compare_baseline.py: error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "c").exists()  # refused before any work
