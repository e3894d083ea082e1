"""``make ui``: a Prefect server on 127.0.0.1 and every deployment of the recipe, under one supervisor.

    python -m flows.ui --recipe recipes/tiny.yaml [--port 4200]

    supervisor (this process) ─┬─ prefect server start   (own process group, dies with the supervisor)
                               └─ python -m flows.deployments   (started once the server answers)

Ctrl-C (or SIGTERM) stops both: the supervisor forwards SIGTERM to each child's process group and sends
SIGKILL to what is left after a grace period or on a second Ctrl-C; ``kill -9`` of the supervisor kills
the children through ``PR_SET_PDEATHSIG`` (``opc_core.child_processes``).
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.request
from pathlib import Path

from opc_core.child_processes import supervise


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="recipes/tiny.yaml")
    parser.add_argument("--port", type=int, default=int(os.environ.get("OPC_UI_PORT", "4200")))
    parser.add_argument("--grace", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL")
    args = parser.parse_args(argv)
    os.environ.setdefault("PREFECT_HOME", str(Path("work/.prefect-server").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    api = f"http://127.0.0.1:{args.port}/api"
    server = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(args.port)]
    os.environ["PREFECT_API_URL"] = api  # the deployments process talks to this server
    env_server = dict(os.environ)
    env_server.pop("PREFECT_API_URL")
    print(f"starting the Prefect server on 127.0.0.1:{args.port} ...", file=sys.stderr, flush=True)
    deployments = [sys.executable, "-m", "flows.deployments", "--recipe", args.recipe]

    def ready() -> bool:
        if not _answers(f"{api}/health"):
            return False
        print(f"Prefect UI: open http://127.0.0.1:{args.port} in your browser  (recipe: {args.recipe})",
              file=sys.stderr, flush=True)
        return True

    return supervise([server, deployments], ready=ready, grace_s=args.grace, envs=[env_server, dict(os.environ)])


if __name__ == "__main__":
    sys.exit(main())
