"""Loopback networking shared by everything that starts a local server (Prefect, vLLM, ``opc serve``,
torchrun's rendezvous): one way to pick a free port on 127.0.0.1.

What it does NOT do: reserve the port. Another process may take it between this call and the bind; callers
that start a server retry or fail with the port in the message.
"""

from __future__ import annotations

import socket

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]
