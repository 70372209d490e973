#!/usr/bin/env bash
# Mutation testing with mutmut 3 (development only, not in CI: about 10-15 min on 2 shared cores).
#   pip install mutmut==3.8.1 && bash tools/mutation_test.sh          # extra arguments go to `mutmut run`
# It mutates the functions whose figures users trust: the held-out split, run length and masks of
# langsamp/training/train.py, the multilingual sampling of langsamp/data/sampling.py, and the LM-head path of
# modeling_langsamp (ids, tables, masked-position selection, loss). setup.cfg [mutmut] lists the fast in-process tests that must kill the mutants.
# `mutmut results` lists the survivors afterwards, `mutmut show NAME` shows one; the work is kept in mutants/.
set -euo pipefail
cd "$(dirname "$0")/.."
export LANGSAMP_UDHR_DIR="${LANGSAMP_UDHR_DIR:-$PWD/data/udhr}" TOKENIZERS_PARALLELISM=false
FUNCTIONS=(
  "langsamp.training.train.x_split_held_out__*" "langsamp.training.train.x_samples_per_run__*"
  "langsamp.training.train.x_mask_once__*" "langsamp.training.train.xǁResumableMaskingǁ*"
  "langsamp.data.sampling.x_sampling_probabilities__*" "langsamp.data.sampling.x_sample_counts__*"
  "langsamp.data.sampling.x_epoch_indices__*"
  "modeling_langsamp.x__check_ids__*" "modeling_langsamp.xǁLanguageScriptEmbeddingsǁforward__*"
  "modeling_langsamp.xǁLangSAMPForMaskedLMǁforward__*"
)
nice -n 10 "${PYTHON:-python}" -m mutmut run "${FUNCTIONS[@]}" "$@"
