"""Training jobs: fine-tune a hub model on a hub dataset and push the result as a model repo (docs/training.md)."""
