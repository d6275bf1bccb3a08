"""Metrics on sample sets: moved to `lavps.metrics` (the ground floor); this name stays for the README's
examples of earlier releases."""

from ..metrics import sliced_wasserstein

__all__ = ["sliced_wasserstein"]
