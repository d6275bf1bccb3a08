"""Imports every command module so that its @cli.command registers itself."""

# Each import registers click commands on lavps.cli.group.cli.
from . import (
    bench,  # noqa: F401
    bench_calibration,  # noqa: F401
    bench_paper,  # noqa: F401
    bench_prior,  # noqa: F401
    bench_spread,  # noqa: F401
    calibrate_amortizer,  # noqa: F401
    demo,  # noqa: F401
    restore,  # noqa: F401
    train_amortizer,  # noqa: F401
    train_prior,  # noqa: F401
)
