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
