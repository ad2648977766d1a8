"""Scores over HTTP and in batch, from a registered model."""
