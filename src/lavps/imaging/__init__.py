"""Image I/O and the restore / degrade workflows behind `lavps restore` and `lavps degrade`."""
