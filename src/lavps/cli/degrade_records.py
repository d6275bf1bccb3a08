"""The records `lavps degrade` writes beside an observation, as `lavps restore` reads them: which prior and
class the observation was made with, its noise and operator, and whether its PNG preview clipped y."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = [
    "with_class",
    "recorded_prior",
    "check_recorded_prior",
    "degrade_record",
    "warn_if_clipped_preview",
    "warn_if_contradicting",
]


def with_class(prior_path, class_label):
    """The prior spec with `:class=N` appended (`--class-label`); None stays the shipped prior."""
    if class_label is None:
        return prior_path
    from ..priors.hdit.loader import with_class_label  # imported here: `lavps --help` stays fast

    return with_class_label(str(prior_path or "mnist"), class_label)


def _class_of(spec) -> str | None:
    head, sep, label = str(spec or "").rpartition(":class=")
    return label.strip().lower() if sep else None


def recorded_prior(given, recorded, observation):
    """The prior of a restore of degrade's observation: the one its record names when none is given; a
    given one must be conditioned on the same class as the recorded one (the observation's class)."""
    if given is None:
        return recorded
    if recorded is not None and _class_of(recorded) != _class_of(given):
        raise ValueError(
            f"{observation} was made with the prior {recorded!r} (class {_class_of(recorded) or 'none'}); restore "
            f"it with the same class label, not {_class_of(given) or 'none'} (--class-label, or drop --prior)"
        )
    return given


def check_recorded_prior(prior, saved: dict, given: bool, observation) -> None:
    """The prior a restore loaded against the fingerprint degrade recorded: a recorded spec that now loads other
    weights (a relative path read from another folder, a file replaced) is refused; a --prior the user gave
    that differs is said in a warning (the user's choice wins)."""
    from ..priors.specs import prior_fingerprint

    recorded = saved.get("prior_fingerprint")
    if recorded is None or prior_fingerprint(prior) == recorded:
        return
    if given:
        click.echo(f"warning: {observation} was made with another prior ({saved['prior'] or 'shipped'}, fingerprint "
                   f"{recorded}); restoring with the --prior given", err=True)  # fmt: skip
        return
    raise ValueError(
        f"{observation} was made with the prior {saved['prior'] or 'shipped'!r} of fingerprint {recorded}, but that "
        f"spec loads a prior of fingerprint {prior_fingerprint(prior)} here (a relative path is read from the "
        "current folder): give --prior with the file degrade used"
    )


def degrade_record(observation, needed: bool = True) -> dict | None:
    """{"noise", "operator_file", "prior"} from the record <stem>.json that `lavps degrade` wrote beside a
    <stem>.observation.pt (None for any other observation, or when there is no record). An unreadable record
    is an error when it is `needed` (the noise or the operator not given), else a warning and None."""
    import json

    path = Path(observation)
    suffix = ".observation.pt"
    record = path.with_name(path.name[: -len(suffix)] + ".json") if path.name.endswith(suffix) else None
    if record is None or not record.is_file():
        return None
    try:
        saved = json.loads(record.read_text())
        operator = saved.get("operator_file")
        noise = saved.get("noise") or f"gaussian:{float(saved['sigma']):g}"  # records before --noise: Gaussian
        if not isinstance(noise, str):  # a spec such as "poisson:20"; a bare number would pass for sigma
            raise TypeError(f"noise {noise!r} is not a noise spec")
        prior = saved.get("prior")  # None: the shipped prior (or a record from before degrade kept it)
        spec = saved.get("operator")
        operator_file = operator and str(record.parent / operator)
        fingerprint = saved.get("prior_fingerprint")  # None: the shipped prior at --size, or an older record
        return {"noise": noise, "operator_file": operator_file, "prior": prior, "operator": spec,
                "prior_fingerprint": fingerprint}  # fmt: skip
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        if needed:
            raise ValueError(f"cannot read the degrade record {record} (give --sigma and the operator): {e}") from e
        click.echo(f"warning: ignoring the unreadable degrade record {record} ({e}); --sigma and the operator given, "
                   "the prior is --prior's or the shipped one", err=True)  # fmt: skip
        return None


def warn_if_clipped_preview(observation) -> None:
    """Restoring the 8-bit PNG preview that `lavps degrade` wrote, when its record says the PNG clipped the
    measurement beyond the noise (phase retrieval, low-peak Poisson): conditioning on it is conditioning on
    a different y. Said on stderr, with the exact file to use instead."""
    import json

    path = Path(observation)
    record = path.with_suffix(".json")
    if path.suffix.lower() != ".png" or not record.is_file():
        return
    try:
        saved = json.loads(record.read_text())
        lost, exact = float(saved.get("png_lost_share") or 0.0), saved.get("observation_file")
    except (ValueError, TypeError, AttributeError):
        return  # not a degrade record: nothing to say
    if lost > 0 and isinstance(exact, str):
        click.echo(
            f"warning: {path.name} is degrade's 8-bit preview and clips {lost:.1%} of the measurement beyond the "
            f"noise; restore {path.with_name(exact)} for the exact observation",
            err=True,
        )


def warn_if_contradicting(source, noise_spec: str | None, saved: dict, observation) -> None:
    """A noise or operator given for degrade's observation that is not the one its record names (another noise
    spec; another operator spec or file, a kernel or a mask): used, as asked, with one warning line each; the
    likelihood would otherwise be wrong without a word (hdr:2 data restored as jpeg:10 ran with exit 0)."""
    if noise_spec is not None and noise_spec != saved["noise"]:
        click.echo(f"warning: restoring with {noise_spec}; {observation} was made with {saved['noise']}", err=True)
    recorded_spec, recorded_file = saved.get("operator"), saved.get("operator_file")
    if source.spec is not None and recorded_spec is not None and source.spec != recorded_spec:
        other = f"--operator {source.spec}"
    elif source.operator_file is not None and recorded_file is not None:
        other = None if _same_bytes(source.operator_file, recorded_file) else f"--operator-file {source.operator_file}"
    else:
        other = "--kernel" if source.kernel is not None else "--mask" if source.mask is not None else None
    if other is not None:
        made = recorded_spec or recorded_file
        click.echo(f"warning: restoring with {other}; {observation} was made with {made}", err=True)


def _same_bytes(a, b) -> bool:
    try:
        return Path(a).read_bytes() == Path(b).read_bytes()
    except OSError:
        return False
