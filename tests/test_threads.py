"""One --threads option on every command: it sets torch's CPU threads of the process (default 1, or
OMP_NUM_THREADS when set); --workers is only ever processes (its old threads meaning warns and maps)."""

from __future__ import annotations

import pytest
import torch

from lavps.cli.command import DEFAULT_THREADS, LavpsCommand
from lavps.cli.group import cli
from lavps.cli.main import _register


def _commands(group, path=()):
    for name, command in group.commands.items():
        if isinstance(command, LavpsCommand):
            yield (*path, name), command
        else:
            yield from _commands(command, (*path, name))


def test_every_command_has_one_threads_option():
    _register()
    import click

    ctx = click.Context(cli)
    commands = list(_commands(cli))
    assert len(commands) >= 12
    for path, command in commands:
        names = [p.name for p in command.get_params(ctx)]
        assert names.count("threads") == 1, path
        workers = [p for p in command.get_params(ctx) if p.name == "workers"]
        assert all("process" in (p.help or "").lower() for p in workers), path


@pytest.mark.parametrize("env,args,expected", [(None, [], DEFAULT_THREADS), ("2", [], 2), ("1", ["--threads", "2"], 2)])
def test_threads_come_from_the_option_then_the_environment_then_the_default(env, args, expected, monkeypatch, _cli):
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # set first: undone whatever the command sets
        monkeypatch.setenv(name, "1")
        monkeypatch.delenv(name)
    if env is not None:
        monkeypatch.setenv("OMP_NUM_THREADS", env)
    torch.set_num_threads(3)
    run = _cli("degrade", *args, "/nonexistent.png", "--operator", "sr:2", "--sigma", "0.1", "--out", "o.png")
    assert run.returncode == 2  # the file is refused after the eager --threads was applied
    assert torch.get_num_threads() == expected


def test_old_workers_spelling_of_threads_warns_and_maps(monkeypatch, _cli):
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "1")
    run = _cli("train-prior", "--workers", "2", "--ema", "2", "--out", "run")
    assert "warning: --workers is deprecated" in run.stderr and "use --threads" in run.stderr
    assert torch.get_num_threads() == 2
