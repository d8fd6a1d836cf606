"""A kernel manager for report runs whose client never sleeps through a message that has arrived.

nbclient waits for a cell's reply with one socket poll of unlimited (or the cell time-out's) length; with
ipywidgets cells that poll is sometimes not woken although the reply is there (jupyter/nbclient#312): a
report then hangs until the cell time-out, or for ever without one. Seen here on notebook 05's explorer
cell (exactly the 300 s time-out, then the reply was read and the report ended ``ok``). Voila runs its
pages with the same client, without a time-out: the demo page then stayed at "Executing 8 of 9" for good
(CI, the saliency explorer's cell). The channels below poll in short steps instead, so a missed wake-up
costs at most :data:`POLL_S` seconds: :class:`PollingKernelManager` for the report runner,
:class:`PollingServerKernelManager` for Voila (named in the repository's ``voila.json``).
"""

from __future__ import annotations

from queue import Empty
from time import monotonic
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from jupyter_server.services.kernels.kernelmanager import ServerKernelManager
from traitlets import DottedObjectName, Type

POLL_S = 0.5  # longest single wait on a socket, seconds


class PollingChannel(AsyncZMQSocketChannel):
    """A ZMQ channel whose ``get_msg`` re-polls every :data:`POLL_S` seconds until ``timeout``."""

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            step = POLL_S if deadline is None else max(0.0, min(POLL_S, deadline - monotonic()))
            try:
                return await super().get_msg(timeout=step)
            except Empty:
                if deadline is not None and monotonic() >= deadline:
                    raise


class PollingKernelClient(AsyncKernelClient):
    """The asynchronous kernel client with :class:`PollingChannel` for the shell and IOPub replies."""

    shell_channel_class = Type(PollingChannel)
    iopub_channel_class = Type(PollingChannel)


class PollingKernelManager(AsyncKernelManager):
    """Starts kernels as usual; hands out :class:`PollingKernelClient` clients."""

    client_class = DottedObjectName("ctnet_lib.reports.kernel_client.PollingKernelClient")
    client_factory = Type(PollingKernelClient, klass=AsyncKernelClient)


class PollingServerKernelManager(PollingKernelManager, ServerKernelManager):
    """A Jupyter server's kernel manager (what Voila's kernels need) with :class:`PollingKernelClient`."""
