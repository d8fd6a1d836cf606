"""A free local TCP port for a server a test starts (a DDP store, a Jupyter server)."""

from __future__ import annotations

import random
import socket
from pathlib import Path

# Linux's default first ephemeral port, and where the kernel says which it uses
EPHEMERAL_PORTS_START = 32768
EPHEMERAL_PORT_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port() -> int:
    """A free port below the kernel's ephemeral range. An ephemeral port (what binding port 0 returns)
    can be taken by any outgoing connection between this check and the server's bind, and a client that
    connects before the server listens can be given it as its own source port and connect to itself
    (TCP simultaneous open). Neither can happen to a port outside that range."""
    low = EPHEMERAL_PORTS_START
    if EPHEMERAL_PORT_RANGE_FILE.is_file():
        low = int(EPHEMERAL_PORT_RANGE_FILE.read_text().split()[0])
    for port in random.sample(range(max(1024, low - 10000), low), 100):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port among 100 tried below {low}")
