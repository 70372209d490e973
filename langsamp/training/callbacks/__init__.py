"""The training run's TrainerCallbacks, one a file: the head warm-up, Hub-ready checkpoints, the held-out loss,
saving on Ctrl-C and the demo's probes."""
