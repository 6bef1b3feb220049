"""Running the ``gridplan`` command line in tests, as a user would."""

from __future__ import annotations

from click.testing import CliRunner


def run(*args):
    """``(exit code, stdout + stderr)`` of ``gridplan ARGS`` (paths may be ``Path``); a Python
    traceback in the output fails the test: bad input gets a message, never a traceback."""
    from app.cli import cli

    result = CliRunner().invoke(cli, [str(a) for a in args])
    out = result.output + (result.stderr if result.stderr_bytes else "")
    assert "Traceback" not in out
    return result.exit_code, out
