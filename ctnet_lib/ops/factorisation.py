"""Channel factorisation C = C1 x C2 x ... x CK (the paper's channel tensorisation).

Sizes are ordered first-mixed to last-mixed. The balanced rule follows the authors' release: the
last sub-dimension is the largest divisor of C not above C ** (1 / K) (for C = 64/128/256/512 and
K = 2 this gives (8, 8) / (16, 8) / (16, 16) / (32, 16)), the rest is balanced recursively, and the
larger sizes are mixed first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class FactorisationError(ValueError):
    """A channel factorisation that cannot exist (sizes that do not multiply to C, a zero size...)."""


def prime_factor_count(n: int) -> int:
    """Number of prime factors of ``n`` counted with multiplicity (Omega(n)); 0 for n = 1."""
    count, p = 0, 2
    while p * p <= n:
        while n % p == 0:
            n //= p
            count += 1
        p += 1
    return count + (1 if n > 1 else 0)


def _largest_divisor_at_most(n: int, bound: float) -> int:
    """Largest divisor d of ``n`` with d <= bound (at least 1)."""
    best = 1
    for d in range(1, math.isqrt(n) + 1):
        if n % d == 0:
            for candidate in (d, n // d):
                if candidate <= bound + 1e-9:
                    best = max(best, candidate)
    return best


def balanced_factorisation(channels: int, num_sub_dims: int) -> tuple[int, ...]:
    """Sizes (C1, ..., CK) with product ``channels``, as equal as divisibility allows, larger first.

    Raises FactorisationError when ``channels`` has fewer prime factors than ``num_sub_dims`` (a
    balanced split would need sizes of 1; ask for them explicitly with ``factorise(sizes=...)``).
    """
    _check_positive(channels, num_sub_dims)
    if num_sub_dims > 1 and prime_factor_count(channels) < num_sub_dims:
        raise FactorisationError(
            f"C={channels} cannot be split into {num_sub_dims} balanced sub-dimensions: it has only "
            f"{prime_factor_count(channels)} prime factor(s); use fewer sub-dimensions or explicit sizes"
        )
    sizes: list[int] = []
    remaining = channels
    for k in range(num_sub_dims, 1, -1):
        size = _largest_divisor_at_most(remaining, remaining ** (1.0 / k))
        sizes.append(size)
        remaining //= size
    sizes.append(remaining)
    return tuple(sorted(sizes, reverse=True))


def factorise(
    channels: int,
    num_sub_dims: int = 2,
    last_sub_dim: int | None = None,
    sizes: Sequence[int] | None = None,
) -> tuple[int, ...]:
    """The sub-dimension sizes (C1, ..., CK) for ``channels``.

    Exactly one way is used: explicit ``sizes``; else ``last_sub_dim`` = CK with the other K - 1
    balanced over C / CK; else the balanced default. Raises FactorisationError naming C and the request.
    """
    if sizes is not None:
        sizes = tuple(int(s) for s in sizes)
        if any(s < 1 for s in sizes) or not sizes:
            raise FactorisationError(f"C={channels}: sub-dimension sizes {sizes} must all be >= 1")
        if math.prod(sizes) != channels:
            raise FactorisationError(
                f"C={channels}: sub-dimension sizes {sizes} multiply to {math.prod(sizes)}, not {channels}"
            )
        return sizes
    _check_positive(channels, num_sub_dims)
    if last_sub_dim is None:
        return balanced_factorisation(channels, num_sub_dims)
    if last_sub_dim < 1 or channels % last_sub_dim:
        raise FactorisationError(
            f"C={channels}: last sub-dimension size {last_sub_dim} must be a positive divisor of {channels}"
        )
    if num_sub_dims == 1:
        if last_sub_dim != channels:
            raise FactorisationError(f"C={channels}: with K=1 the only sub-dimension has size {channels}")
        return (channels,)
    try:
        head = balanced_factorisation(channels // last_sub_dim, num_sub_dims - 1)
    except FactorisationError:
        raise FactorisationError(
            f"C={channels} with last sub-dimension {last_sub_dim}: the other {num_sub_dims - 1} sizes must "
            f"split C / {last_sub_dim} = {channels // last_sub_dim}, which has only "
            f"{prime_factor_count(channels // last_sub_dim)} prime factor(s); use a smaller last_sub_dim, "
            "fewer sub-dimensions or explicit sizes"
        ) from None
    return (*head, last_sub_dim)


def _check_positive(channels: int, num_sub_dims: int) -> None:
    if channels < 1:
        raise FactorisationError(f"C={channels}: the number of channels must be >= 1")
    if num_sub_dims < 1:
        raise FactorisationError(f"C={channels}: the number of sub-dimensions K={num_sub_dims} must be >= 1")
