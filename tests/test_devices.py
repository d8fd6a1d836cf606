"""The one device resolver (``ctnet_lib.devices``) and checkpoint reader (``ctnet_lib.checkpoint_io``)."""

import pytest
import torch
import torch.serialization

from ctnet_lib.checkpoint_io import read_checkpoint, read_state_dict
from ctnet_lib.devices import resolve_device


@pytest.fixture
def two_gpus(monkeypatch):
    """A machine that CUDA reports two GPUs on (nothing is moved to them)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("LOCAL_RANK", raising=False)


def test_cpu_and_auto_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("cpu") == resolve_device("auto") == resolve_device(torch.device("cpu"))
    assert resolve_device("auto").type == "cpu"
    for name in ("cuda", "cuda:0"):
        with pytest.raises(ValueError, match=rf"device='{name}' was asked for but torch sees no GPU.*'auto'"):
            resolve_device(name)


def test_cuda_names_resolve_to_this_process_gpu(two_gpus, monkeypatch):
    assert resolve_device("auto") == resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device("CUDA:1") == resolve_device(torch.device("cuda", 1)) == torch.device("cuda", 1)
    assert resolve_device("auto", local_rank=1) == torch.device("cuda", 1)
    monkeypatch.setenv("LOCAL_RANK", "1")  # under torchrun: each process gets the GPU of its local rank
    assert resolve_device("auto") == resolve_device("cuda") == torch.device("cuda", 1)
    assert resolve_device("cuda:0") == torch.device("cuda", 0)  # an explicit GPU stays explicit
    with pytest.raises(ValueError, match=r"'cuda:2' needs GPU 2 but torch sees 2 GPU\(s\).*'cuda:1'"):
        resolve_device("cuda:2")


@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda:x", "cuda:", "meta", ""])
def test_other_names_are_rejected_naming_the_choices(name):
    with pytest.raises(ValueError, match=rf"device '{name}' is not one of 'auto', 'cpu', 'cuda' or 'cuda:N'"):
        resolve_device(name)


def test_a_checkpoint_written_on_a_gpu_reads_onto_the_cpu(tmp_path, monkeypatch):
    """Storages tagged 'cuda:0', as torch.save writes them during GPU training."""
    path = tmp_path / "gpu.pt"
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        torch.save({"model": {"module.fc.weight": torch.ones(2, 3)}, "rng": torch.get_rng_state()}, path)
    with pytest.raises(RuntimeError, match="CUDA"):  # what a load without map_location does here
        torch.load(path, weights_only=True)
    state = read_checkpoint(path)
    assert state["rng"].device.type == "cpu" and torch.equal(state["rng"], torch.get_rng_state())
    assert set(read_state_dict(path)) == {"fc.weight"}  # under 'model', DDP prefix dropped


def test_missing_and_foreign_files_raise_naming_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"weights .*missing\.pt does not exist: check the path"):
        read_checkpoint(tmp_path / "missing.pt", "weights")
    for name, content in (("text.pt", b"not a checkpoint"), ("empty.pt", b"")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=rf"{name} is not a readable torch checkpoint .*torch\.save"):
            read_checkpoint(tmp_path / name)
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pt")  # a pickled object: refused, no code runs
    with pytest.raises(ValueError, match="only tensors and plain Python values"):
        read_checkpoint(tmp_path / "module.pt")
    torch.save([torch.ones(1)], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="holds a list, not a state dict"):
        read_state_dict(tmp_path / "list.pt")
