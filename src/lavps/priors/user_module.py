"""`edm:MODULE:FACTORY`: a user's module as a prior. It imports MODULE (a dotted name or a .py file) and calls
FACTORY(), which returns a VE denoiser D(x, sigma) with a `shape` attribute (`lavps.priors.edm`). This is the
one prior spec that runs code; errors in that code are one line naming its file and line."""

from __future__ import annotations

from pathlib import Path

from .edm import VEDenoiserPrior

__all__ = ["load_edm_spec"]


def load_edm_spec(rest: str) -> VEDenoiserPrior:
    """The prior of `edm:MODULE:FACTORY` (rest = after 'edm:'): FACTORY() of the user's module, a VE denoiser
    D(x, sigma) with a `shape` attribute. This RUNS the user's code, as asked."""
    module_name, _, factory_name = rest.rpartition(":")
    if not module_name or not factory_name:
        raise ValueError(f"bad prior spec 'edm:{rest}'; expected edm:MODULE:FACTORY (MODULE a module name or .py file)")
    module = _import_module(module_name)
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise ValueError(f"{module_name} has no callable {factory_name!r}")
    try:
        denoiser = factory()
    except Exception as e:  # the user's code
        raise ValueError(f"{module_name}:{factory_name}() failed: {_where(e)}") from None
    shape = getattr(denoiser, "shape", None)
    if shape is None:
        raise ValueError(f"{module_name}:{factory_name}() must return a denoiser D(x, sigma) with a `shape` attribute")
    return VEDenoiserPrior(denoiser, tuple(shape))


def _import_module(name: str):
    """Import a dotted module name, or a .py file by path (this executes the module's code)."""
    import importlib
    import importlib.util

    if name.endswith(".py"):
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"module file not found: {path}")
        module_spec = importlib.util.spec_from_file_location(f"lavps_user_prior_{path.stem}", path)
        module = importlib.util.module_from_spec(module_spec)
        try:
            module_spec.loader.exec_module(module)
        except Exception as e:  # the user's code: one line naming the file, not our traceback
            raise ValueError(f"cannot load module {path}: {_where(e)}") from None
        return module
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise ValueError(f"cannot import module {name!r} ({e})") from None
    except Exception as e:
        raise ValueError(f"cannot load module {name!r}: {_where(e)}") from None


def _where(e: Exception) -> str:
    """An exception raised by user code as `Kind at file:line: message`."""
    if isinstance(e, SyntaxError):
        return f"SyntaxError at {e.filename}:{e.lineno}: {e.msg}"
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    at = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else ""
    return f"{type(e).__name__}{at}: {e}"
