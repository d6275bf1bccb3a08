"""Evaluation: metrics, benchmarks, reports."""
