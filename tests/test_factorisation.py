import math

import pytest

from ctnet_lib.ops.factorisation import (
    FactorisationError,
    balanced_factorisation,
    factorise,
    prime_factor_count,
)


def test_balanced_pairs_match_the_authors_release():
    assert [balanced_factorisation(c, 2) for c in (64, 128, 256, 512)] == [
        (8, 8), (16, 8), (16, 16), (32, 16),
    ]


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("channels", [16, 24, 64, 96, 128, 256, 384, 512, 1024])
def test_balanced_factorisation_is_exact_sorted_and_near_the_kth_root(channels, k):
    assert prime_factor_count(channels) >= k  # every width here has at least 4 prime factors
    sizes = balanced_factorisation(channels, k)
    assert len(sizes) == k
    assert math.prod(sizes) == channels
    assert list(sizes) == sorted(sizes, reverse=True)
    assert sizes[-1] <= channels ** (1 / k) + 1e-9


def test_balanced_uses_largest_divisor_not_above_sqrt_for_non_powers_of_two():
    assert balanced_factorisation(96, 2) == (12, 8)
    assert balanced_factorisation(36, 2) == (6, 6)


def test_last_sub_dim_and_explicit_sizes():
    assert factorise(64, 2, last_sub_dim=4) == (16, 4)
    assert factorise(64, 2, last_sub_dim=1) == (64, 1)
    assert factorise(512, 3, last_sub_dim=2) == (16, 16, 2)
    assert factorise(64, sizes=(2, 32)) == (2, 32)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"channels": 64, "sizes": (8, 4)}, "multiply to 32, not 64"),
        ({"channels": 64, "sizes": (64, 0)}, ">= 1"),
        ({"channels": 64, "last_sub_dim": 3}, "divisor of 64"),
        ({"channels": 64, "last_sub_dim": 0}, "divisor of 64"),
        ({"channels": 12, "num_sub_dims": 4}, "only 3 prime factor"),
        ({"channels": 64, "num_sub_dims": 0}, "K=0"),
        ({"channels": 64, "num_sub_dims": 1, "last_sub_dim": 8}, "K=1"),
    ],
)
def test_impossible_requests_name_c_and_the_request(kwargs, fragment):
    with pytest.raises(FactorisationError) as error:
        factorise(**kwargs)
    assert f"C={kwargs['channels']}" in str(error.value)
    assert fragment in str(error.value)
