"""Report kernels' channels poll in short steps: a reply that arrived is read even when a wake-up is lost."""

import asyncio
import shutil
from pathlib import Path
from queue import Empty

import pytest
from jupyter_client.channels import AsyncZMQSocketChannel

from ctnet_lib.reports import kernel_client
from ctnet_lib.reports.kernel_client import (
    PollingChannel,
    PollingKernelClient,
    PollingKernelManager,
    PollingServerKernelManager,
)

REPO = Path(__file__).resolve().parents[1]


def _channel_whose_polls(monkeypatch, outcomes):
    """A PollingChannel whose underlying polls return or raise ``outcomes`` in turn, on a simulated clock
    that a poll ending in ``Empty`` advances by its whole wait (no real time passes); returns the waits."""
    waits = []
    clock = [1000.0]

    async def get_msg(self, timeout=None):
        waits.append(timeout)
        outcome = outcomes.pop(0) if outcomes else Empty()
        if isinstance(outcome, Exception):
            clock[0] += timeout
            raise outcome
        return outcome

    monkeypatch.setattr(AsyncZMQSocketChannel, "get_msg", get_msg)
    monkeypatch.setattr(kernel_client, "POLL_S", 0.01)
    monkeypatch.setattr(kernel_client, "monotonic", lambda: clock[0])
    return PollingChannel.__new__(PollingChannel), waits


def test_a_wait_without_limit_polls_in_short_steps_until_the_message(monkeypatch):
    channel, waits = _channel_whose_polls(monkeypatch, [Empty(), Empty(), {"msg_type": "execute_reply"}])
    assert asyncio.run(channel.get_msg(timeout=None)) == {"msg_type": "execute_reply"}
    assert waits == [0.01, 0.01, 0.01]


def test_a_wait_with_a_limit_ends_with_empty_at_the_limit(monkeypatch):
    channel, waits = _channel_whose_polls(monkeypatch, [])
    with pytest.raises(Empty):
        asyncio.run(channel.get_msg(timeout=0.05))
    assert waits == pytest.approx([0.01] * 5)  # five short polls fill the limit exactly, no sixth


def test_a_message_within_the_limit_is_returned(monkeypatch):
    channel, waits = _channel_whose_polls(monkeypatch, [Empty(), {"msg_type": "status"}])
    assert asyncio.run(channel.get_msg(timeout=0.05)) == {"msg_type": "status"}
    assert waits == pytest.approx([0.01, 0.01])


def test_report_kernels_get_the_polling_client():
    assert PollingKernelManager().client_factory is PollingKernelClient
    assert PollingKernelClient.shell_channel_class.default_value is PollingChannel
    assert PollingKernelClient.iopub_channel_class.default_value is PollingChannel


def test_voila_run_from_the_repository_gives_its_kernels_the_polling_client(tmp_path, monkeypatch):
    from voila.app import Voila

    shutil.copy(REPO / "voila.json", tmp_path)  # Voila reads voila.json from the folder it starts in
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))  # none of the user's config
    app = Voila()
    app.initialize([])
    app.init_settings()
    manager = app.kernel_manager.kernel_manager_factory()
    assert isinstance(manager, PollingServerKernelManager)
    assert isinstance(manager.client(), PollingKernelClient)
