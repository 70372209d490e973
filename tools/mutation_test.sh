#!/usr/bin/env bash
# Mutation testing with mutmut 3 (development only, not in CI: about 10-15 min on 2 shared cores).
#   pip install mutmut==3.8.1 && bash tools/mutation_test.sh          # extra arguments go to `mutmut run`
# It mutates the functions whose figures users trust: the held-out split and masks (langsamp/data/held_out.py,
# collator.py), the run length (langsamp/training/cli.py), the multilingual sampling (langsamp/data/sampling.py), and
# the LM-head path of modeling_langsamp (ids, tables, masked-position selection, loss). setup.cfg [mutmut] lists the
# fast in-process tests that must kill the mutants.
# `mutmut results` lists the survivors afterwards, `mutmut show NAME` shows one; the work is kept in mutants/.
set -euo pipefail
cd "$(dirname "$0")/.."
export LANGSAMP_UDHR_DIR="${LANGSAMP_UDHR_DIR:-$PWD/data/udhr}" TOKENIZERS_PARALLELISM=false
FUNCTIONS=(
  "langsamp.data.held_out.x_split_held_out__*" "langsamp.training.cli.x_samples_per_run__*"
  "langsamp.data.held_out.x_mask_once__*" "langsamp.data.collator.xǁResumableMaskingǁ*"
  "langsamp.data.sampling.x_sampling_probabilities__*" "langsamp.data.sampling.x_sample_counts__*"
  "langsamp.data.sampling.x_epoch_indices__*"
  "modeling_langsamp.x__check_ids__*" "modeling_langsamp.xǁLanguageScriptEmbeddingsǁforward__*"
  "modeling_langsamp.xǁLangSAMPForMaskedLMǁforward__*" "modeling_langsamp.xǁLangSAMPForMaskedLMǁ_checked_ids__*"
  "modeling_langsamp.xǁLangSAMPForMaskedLMǁ_masked_positions__*" "modeling_langsamp.xǁLangSAMPForMaskedLMǁ_loss__*"
)
nice -n 10 "${PYTHON:-python}" -m mutmut run "${FUNCTIONS[@]}" "$@"
