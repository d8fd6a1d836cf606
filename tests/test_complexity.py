import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from ctnet_lib import build_model
from ctnet_lib.analysis.counting import complexity
from ctnet_lib.analysis.counting.command import paper_table_markdown
from ctnet_lib.analysis.counting.complexity import count_complexity, register_counter
from ctnet_lib.analysis.counting.paper_tables import reference_rows, reproduce_paper_table
from ctnet_lib.cli import main
from ctnet_lib.options import parse_set_options


@pytest.mark.parametrize("name", ["tsn_small", "c3d_small", "r2plus1d_small", "csn_small", "ctnet_small"])
def test_conv_linear_macs_equal_half_of_pytorch_flop_counter(name):
    model = build_model(name, num_classes=10, excitation="se") if name == "ctnet_small" else build_model(
        name, num_classes=10
    )
    model.eval()
    shape = (1, 3, 4, 64, 64)
    report = count_complexity(model, shape, convention="conv_linear")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(shape))
    assert 2 * report.macs == counter.get_total_flops()


def test_paper_convention_adds_two_ops_per_batchnorm_output_and_conv_bias():
    model = build_model("ctnet_small", num_classes=10)
    paper = count_complexity(model, (1, 3, 4, 64, 64))
    plain = count_complexity(model, (1, 3, 4, 64, 64), convention="conv_linear")
    table = paper.table
    bn_elements = sum(
        torch.Size(row.output_shape).numel() for row in table.itertuples() if row.type.startswith("BatchNorm")
    )
    bias_outputs = sum(
        torch.Size(row.output_shape).numel()
        for row in table.itertuples()
        if row.type == "Conv3d" and model.get_submodule(row.name).bias is not None
    )
    assert bn_elements > 0 and bias_outputs > 0
    assert paper.macs - plain.macs == 2 * bn_elements + bias_outputs


def test_report_table_and_counts_are_consistent():
    model = build_model("ctnet_small", num_classes=10)
    report = count_complexity(model, (1, 3, 4, 64, 64))
    table = report.table
    assert list(table.columns) == ["name", "type", "output_shape", "macs", "params", "counted", "stage"]
    assert table["counted"].all() and report.uncounted == ()
    assert table["macs"].sum() == report.macs
    assert table["params"].sum() == report.params == sum(p.numel() for p in model.parameters())
    fc = table[table.name == "fc"].iloc[0]
    assert fc.output_shape == (4, 10) and fc.macs == 4 * 10 * 512
    assert set(table.stage) >= {"conv1", "layer1", "layer4", "fc"}
    assert model.training


def test_macs_scale_linearly_with_frames_and_quadratically_with_size():
    """Without TE (whose gates run on pooled maps) every layer's cost is proportional to T*H*W."""
    model = build_model("ctmodule_small", num_classes=10)
    base = count_complexity(model, (1, 3, 4, 64, 64), convention="conv_linear").macs
    fc = 4 * 10 * 512
    assert count_complexity(model, (1, 3, 8, 64, 64), convention="conv_linear").macs == 2 * base
    doubled = count_complexity(model, (1, 3, 4, 128, 128), convention="conv_linear").macs
    assert doubled - fc == 4 * (base - fc)


def test_cli_json_and_one_line_errors(capsys):
    args = ["complexity", "tsn_small", "--frames", "4", "--size", "64", "--classes", "10", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    expected = count_complexity(build_model("tsn_small", num_classes=10), (1, 3, 4, 64, 64))
    assert result["gmacs"] == pytest.approx(expected.gmacs, abs=1e-4)
    assert result["params_m"] == pytest.approx(expected.params_m, abs=1e-4)
    assert main(["complexity", "ctnet_small", "--set", "last_sub_dim=3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "last sub-dimension size 3" in err


def test_set_options_parsing():
    assert parse_set_options(["kernels=1,3", "pwconv = true"]) == {"kernels": "1,3", "pwconv": "true"}
    with pytest.raises(ValueError, match="key=value"):
        parse_set_options(["kernels"])


def test_paper_table_markdown_lists_ours_beside_the_paper():
    rows = [r for r in reference_rows() if r.row in ("CT-Net at 224x224", "C2 = 4")]
    markdown = paper_table_markdown(reproduce_paper_table(rows)).splitlines()
    assert len(markdown) == 4 and markdown[0].startswith("| row | preset |")
    assert markdown[2].startswith("| CT-Net at 224x224 | ctnet_r50 |  | 8 | 224 | 28.58 | 28.6 |")
    assert "| last_sub_dim=4 |" in markdown[3]


def test_complexity_without_preset_or_table_is_a_one_line_error(capsys):
    assert main(["complexity"]) == 2
    assert "--paper-table" in capsys.readouterr().err


class Scale(torch.nn.Module):
    """A custom layer the counter does not know: x * weight (one MAC per output element)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight


class Mixer(torch.nn.Module):
    """A module with a parameter of its own beside a child: its own MACs are not hooked."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)
        self.mix = torch.nn.Parameter(torch.eye(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) @ self.mix


def test_a_module_the_counter_cannot_count_is_named_not_skipped(monkeypatch):
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), Scale(), Mixer())
    named = r"cannot count 2 module\(s\).*1 \(Scale\), 2 \(Mixer, own parameters\)"
    with pytest.warns(UserWarning, match=named):
        report = count_complexity(model, (2, 4))
    assert report.uncounted == ("1 (Scale)", "2 (Mixer, own parameters)")
    assert report.table.set_index("name").loc["1", "counted"] == False  # noqa: E712
    assert report.macs == 2 * 2 * 4 * 4  # the two Linear layers only

    monkeypatch.setattr(complexity, "_COUNTERS", {})
    register_counter(Scale, lambda module, output, convention: output.numel())
    report = count_complexity(torch.nn.Sequential(torch.nn.Linear(4, 4), Scale()), (2, 4))
    assert report.uncounted == () and report.macs == 2 * 4 * 4 + 2 * 4


def test_cli_names_the_modules_it_cannot_count(capsys, monkeypatch):
    args = ["complexity", "tsn_small", "--frames", "2", "--size", "32", "--classes", "10"]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["uncounted"] == []
    known = tuple(t for t in complexity.ZERO_COST if t is not torch.nn.modules.pooling._MaxPoolNd)
    monkeypatch.setattr(complexity, "ZERO_COST", known)  # as if max pooling were a custom layer
    with pytest.warns(UserWarning, match="cannot count 1 module"):
        assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["uncounted"] == ["maxpool (MaxPool2d)"]
    with pytest.warns(UserWarning, match="cannot count 1 module"):
        assert main(args) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[-1] == "left out of the GMACs, the counter cannot count them: maxpool (MaxPool2d)"
