"""Prefect settings for in-process (ephemeral) runs: quiet, state under the workdir, patient start-up.

Must run before ``import prefect``. Anything the user set explicitly (``PREFECT_API_URL`` pointing at
a server, their own ``PREFECT_HOME``) wins: we only fill in defaults.
"""

from __future__ import annotations

import os

from opc_core import storage


def configure_prefect(workdir: str | None = None) -> None:
    home = None
    if workdir and not storage.is_remote(workdir):
        home = storage.join(workdir, ".prefect")
    defaults = {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",  # the client's telemetry banner ("Prefect collects anonymous usage data...")
        # INFO reaches the run logs in the UI (the API handler); the terminal shows only warnings
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_UI_ENABLED": "false" if not os.environ.get("PREFECT_API_URL") else "true",
    }
    if home:
        defaults["PREFECT_HOME"] = home
        os.makedirs(os.environ.get("PREFECT_HOME", home), exist_ok=True)  # Prefect does not create parents
    for key, value in defaults.items():
        os.environ.setdefault(key, value)


def ephemeral_server_dies_with_us() -> None:
    """Make the temporary Prefect server (uvicorn on loopback) die with this process, ``kill -9`` included.

    Prefect starts it with a plain ``subprocess.Popen`` from the ``SubprocessASGIServer`` singleton; we put
    our subclass in the singleton's place (as Prefect's own test utilities do) so that its child is started
    with ``PR_SET_PDEATHSIG`` (``opc_core.child_processes``). Call after ``configure_prefect``.
    """
    import subprocess

    import prefect.server.api.server as server_module
    from prefect.server.api.server import SubprocessASGIServer

    from opc_core.child_processes import popen_dying_with_parent

    if isinstance(SubprocessASGIServer._instances.get(None), _ServerDyingWithUs):
        return

    class _Popen:
        """What ``server_module.subprocess`` offers, with ``Popen`` arming the parent-death signal."""

        def __getattr__(self, name: str):
            return getattr(subprocess, name)

        @staticmethod
        def Popen(args, **kwargs):  # noqa: N802 (the name Prefect calls)
            return popen_dying_with_parent(args, **kwargs)

    class _Server(SubprocessASGIServer, _ServerDyingWithUs):
        def _run_uvicorn_command(self):
            saved = server_module.subprocess
            server_module.subprocess = _Popen()  # module-local: no other caller of Popen is affected
            try:
                return super()._run_uvicorn_command()
            finally:
                server_module.subprocess = saved

    existing = SubprocessASGIServer._instances.pop(None, None)
    if existing is not None and existing.running:
        SubprocessASGIServer._instances[None] = existing  # already started: leave it alone
        return
    _Server(None)


class _ServerDyingWithUs:
    """Marker for the subclass above (defined lazily: importing Prefect is slow)."""
