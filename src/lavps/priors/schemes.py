"""The kinds of `--prior` spec, in one table: `lavps.priors.specs` resolves them, its unknown-spec error
and the CLI's `--prior` help list them. Free of torch and of the loaders, which it names but imports on use."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

__all__ = ["PriorScheme", "PRIOR_SCHEMES", "PRESET_KINDS", "prior_spec_help"]


@dataclass(frozen=True)
class PriorScheme:
    """A `SCHEME:REST` prior spec: its usage (error messages) and the function of REST that loads the prior,
    named `module:function` under lavps.priors and imported on first use (adapters pull in diffusers)."""

    usage: str
    loader: str
    #: named specs of this scheme that lavps resolves itself, listed after the usage (e.g. ldm:mnist)
    named: tuple[str, ...] = ()

    def load(self, rest: str):
        module, _, function = self.loader.partition(":")
        return getattr(importlib.import_module(f"{__package__}.{module}"), function)(rest)


#: the network priors by scheme: a new adapter is its module (a loader of the text after `SCHEME:`) plus
#: one line here
PRIOR_SCHEMES: dict[str, PriorScheme] = {
    "diffusers": PriorScheme("diffusers:DIR", "diffusers_folder:load_diffusers_prior"),
    "ldm": PriorScheme("ldm:DIR", "latent:load_latent_prior", named=("ldm:mnist",)),
    "adm": PriorScheme("adm:FILE[:ffhq|:imagenet|:FLAGS.json]", "adm:load_adm_spec"),
    "edm": PriorScheme("edm:MODULE:FACTORY", "user_module:load_edm_spec"),
    "hdit": PriorScheme("hdit:FILE[:ffhq|:imagenet|:CONFIG.json][:class=N|:class=null]", "hdit.loader:load_hdit_spec"),
}
#: every spec kind `load_prior` accepts, as the unknown-spec error and `--prior`'s help list them
PRESET_KINDS = (
    "mnist",
    "gmm:D",
    "gmm:D:fresh",
    *(usage for s in PRIOR_SCHEMES.values() for usage in (s.usage, *s.named)),
    "PATH.safetensors",
)


def prior_spec_help() -> str:
    """`--prior`'s help: every spec kind, with what needs saying about it."""
    notes = {
        "mnist": "mnist (shipped)",
        "diffusers:DIR": "diffusers:DIR (or just DIR)",
        "edm:MODULE:FACTORY": "edm:MODULE:FACTORY (runs that module's code)",
    }
    kinds = [notes.get(kind, kind) for kind in PRESET_KINDS if not kind.startswith("gmm:")]
    vector = ", ".join(kind for kind in PRESET_KINDS if kind.startswith("gmm:"))
    return (
        f"Prior spec: {', '.join(kinds[:-1])}, or a prior .safetensors file ({kinds[-1]}); the vector priors "
        f"{vector} only where a command trains or benchmarks on vectors. See docs/priors.md."
    )
