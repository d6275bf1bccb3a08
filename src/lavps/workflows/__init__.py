"""Workflows above the samplers: the settings a run resolves to (`settings`), the one-image restore /
degrade steps (`image`: where the operator comes from, simulating, atomic outputs) and the resumable,
sharded folder restore (`folder`). `lavps.api` and the CLI call them; nothing below imports them."""
