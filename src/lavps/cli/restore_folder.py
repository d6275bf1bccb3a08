"""`lavps restore DIR|GLOB`: the folder form of `lavps restore` (its options, dispatched to
`lavps.workflows.folder.restore_folder`; joins the torchrun process group when there is one)."""

from __future__ import annotations

import click

__all__ = ["restore_folder_command"]


def restore_folder_command(source, operator_source, simulate, sigma, prior, prior_path, run, settings, output) -> None:
    """Restore the folder or glob `source` (see `lavps.cli.restore.restore`; run, output: its groups)."""
    import torch

    from ..distributed import init_from_env
    from ..operators.spec import parse_operator_spec
    from ..priors.latent import image_shape
    from ..workflows.folder import FolderJob, refuse_nonlinear_simulation, restore_folder
    from ..workflows.image import resolve_operator

    if run.samples != 1 or output.overwrite:  # no --overwrite: a folder run resumes; a new run needs a new --out
        raise ValueError(
            "a folder is restored with one sample per image and resumed in --out (no --overwrite: give a new "
            "--out to redo it): drop --samples/--overwrite"
        )
    shape = image_shape(prior)  # operators act on images: a latent prior's decoded ones
    if simulate is not None and output.reference is not None:  # accepted and ignored would mislead
        raise ValueError("--reference is for observations; with --simulate the clean inputs are the references")
    if simulate is not None:
        given = [operator_source.spec, operator_source.kernel, operator_source.mask, operator_source.operator_file]
        if any(v is not None for v in given):
            raise ValueError("give --simulate SPEC (clean inputs, one operator per image) or an operator, not both")
        family = parse_operator_spec(simulate, shape)
        operator = family.sample_one(torch.Generator().manual_seed(0))  # shapes only: images draw their own
        described = {"simulate": simulate}
    else:
        family, operator = None, resolve_operator(operator_source, shape)
        described = operator_source.describe(shape)
    job = FolderJob(
        source=str(source),
        operator=operator,
        sigma=sigma,
        sampler=run.sampler,
        preset=run.preset,
        settings=settings,
        amortizer=run.amortizer,
        seed=run.seed,
        batch_size=run.batch_size or 4,
        simulate=simulate is not None,
        references=output.reference,
        family=family,
        record={"operator": described, "prior": str(prior_path or "shipped")},
    )
    refuse_nonlinear_simulation(job)  # before joining the process group
    init_from_env()
    report = restore_folder(job, prior, output.out_dir, progress=not output.quiet)
    click.echo(
        f"restored {report.restored} image(s) in {report.seconds:.1f} s on this rank "
        f"({report.finished_before} already done, {report.skipped} file(s) skipped); {report.metrics_path}"
    )
