"""Named values of the library that the CLI's help shows, kept free of torch (importable from any layer):
`lavps --help` and every command's `--help` render without loading torch."""

__all__ = ["DRAWS", "CURVATURE_PROBES", "CALIBRATED_PRESETS", "calibration_key"]

#: how x_tau is drawn around the inner Gaussian's mean (`VISettings.draw`): its mean-field std, or the
#: Gaussian-linearised inner problem's full covariance (`lavps.objective.linearised_noise`)
DRAWS = ("diagonal", "linearised")

#: Rademacher probes (one VJP each) of the Gauss-Newton curvature's diagonal for a non-linear measurement
CURVATURE_PROBES = 16

#: the LAVPS presets whose variance temperature (and draw) `lavps calibrate-amortizer` fits per operator family
#: and stores on the amortizer's card: `fastest` (what `auto` runs on the training families) and `reference`
#: (what `auto` runs on any other linear family)
CALIBRATED_PRESETS = ("fastest", "reference")


def calibration_key(preset: str) -> str:
    """The amortizer card's entry holding the fits of `preset`: "calibration" for `fastest` (the name cards
    have always used), "calibration_<preset>" for the others."""
    if preset not in CALIBRATED_PRESETS:
        raise ValueError(f"no calibration fit for preset {preset!r}; one of {', '.join(CALIBRATED_PRESETS)}")
    return "calibration" if preset == "fastest" else f"calibration_{preset}"
