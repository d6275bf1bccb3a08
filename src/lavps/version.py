"""The package version, recorded in every run's record (importable from any layer)."""

__version__ = "0.1.0"
