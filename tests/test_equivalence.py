import pytest
import torch

from ctnet_lib.analysis.fields.equivalence import (
    AS_CT,
    BASELINES,
    EQUIVALENT_CT_CONFIGS,
    check_all_equivalences,
    compare_outputs,
    equivalence_error,
    last_batch_norm,
    randomise_batch_norms,
)
from ctnet_lib.ops import CTModule

# Both sides are float64 with values of order 1 (N(0, 1) inputs, BatchNorms with random statistics near
# unit scale) and at most 6 reductions of at most 16 * 27 = 432 terms each (the widest fan-in), so two
# summation orders differ by at most 6 * 432 * eps ~ 6e-13 (tests/numerics.py); 1e-10 leaves a factor of
# 170 for the magnitudes, and a wrong mapping is off by more than 1e-3 (test_the_check_is_not_vacuous).
EQUIVALENCE_BOUND = 1e-10


@pytest.mark.parametrize("channels", [4, 8, 12, 16])
@pytest.mark.parametrize("kind", ["c3d", "r2plus1d", "csn"])
def test_baseline_is_a_ct_module_up_to_the_closing_bn_and_relu(kind, channels):
    assert equivalence_error(kind, channels, thw=(3, 5, 4), seed=channels) < EQUIVALENCE_BOUND


@pytest.mark.parametrize("kind", ["c3d", "r2plus1d", "csn"])
def test_the_check_is_not_vacuous(kind):
    generator = torch.Generator().manual_seed(1)
    baseline = randomise_batch_norms(BASELINES[kind](8).double().eval(), generator)
    ct = AS_CT[kind](baseline).eval()
    bn = randomise_batch_norms(last_batch_norm(ct), generator)
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))
    x = torch.randn(2, 8, 3, 5, 5, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        out = ct(x)
        assert 0.2 < (out > 0).double().mean() < 0.8
        assert (out - torch.relu(baseline(x))).abs().max() > 1e-3  # the closing BN matters
    assert compare_outputs(ct, baseline, x) < EQUIVALENCE_BOUND
    with torch.no_grad():
        next(p for p in ct.parameters() if p.dim() == 5).add_(0.1)
    assert compare_outputs(ct, baseline, x) > 1e-3


def test_ct_configurations_are_the_papers_special_cases():
    c = 16
    c3d, r21d, csn = (CTModule(c, EQUIVALENT_CT_CONFIGS[k]) for k in ("c3d", "r2plus1d", "csn"))
    assert c3d.sizes == (16,) and c3d.sub_ops[0].coupled.conv.weight.shape == (16, 16, 3, 3, 3)
    assert r21d.sizes == (16,)
    assert r21d.sub_ops[0].spatial.conv.weight.shape == (16, 16, 1, 3, 3)
    assert r21d.sub_ops[0].temporal.conv.weight.shape == (16, 16, 3, 1, 1)
    assert csn.sizes == (16, 1)
    assert csn.sub_ops[0].coupled.conv.weight.shape == (16, 16, 1, 1, 1)
    assert csn.sub_ops[1].coupled.conv.groups == 16
    assert csn.sub_ops[1].coupled.conv.weight.shape == (16, 1, 3, 3, 3)


def test_table_of_all_equivalences():
    table = check_all_equivalences(channels=(6, 8), thw=(2, 4, 4))
    assert len(table) == 6
    assert (table["max_abs_diff"] < EQUIVALENCE_BOUND).all()
    assert table.loc[table["baseline"] == "csn", "sizes"].tolist() == [(6, 1), (8, 1)]


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="no CT equivalent"):
        equivalence_error("tsm")
