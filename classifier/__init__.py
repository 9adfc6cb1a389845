"""Pure ML: base-model bootstrap, training, evaluation, inference (issue 3)."""
