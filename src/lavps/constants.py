"""Named values of the library that the CLI's help shows, kept free of torch (importable from any layer):
`lavps --help` and every command's `--help` render without loading torch."""

__all__ = ["DRAWS", "CURVATURE_PROBES"]

#: how x_tau is drawn around the inner Gaussian's mean (`VISettings.draw`): its mean-field std, or the
#: Gaussian-linearised inner problem's full covariance (`lavps.objective.linearised_noise`)
DRAWS = ("diagonal", "linearised")

#: Rademacher probes (one VJP each) of the Gauss-Newton curvature's diagonal for a non-linear measurement
CURVATURE_PROBES = 16
