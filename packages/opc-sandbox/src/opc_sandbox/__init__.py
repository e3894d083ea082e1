"""opc-sandbox: run untrusted generated code (eval scoring, synth validation) in throw-away sandboxes.

``run_program(source, timeout_s)`` runs one program; ``run_many(jobs, workers=...)`` a bounded pool.
See ``opc_sandbox.sandbox`` for exactly what is and is not protected.
"""

from opc_sandbox.pool import Job, run_many
from opc_sandbox.sandbox import Capabilities, ExecResult, Limits, probe, run_program

__all__ = ["Capabilities", "ExecResult", "Job", "Limits", "probe", "run_many", "run_program"]
