"""Rollup values are packed losslessly: whole seconds as int32, anything else as float64."""

from __future__ import annotations

import numpy as np

from reporting.metrics.daily import median_of
from reporting.models import pack_split, unpack_split


def test_whole_seconds_take_four_bytes_and_the_rest_eight_without_loss():
    values = [3600.0, -90.0, 0.5, 1e10, 2_147_483_647.0, 129_600.25]

    whole, other = pack_split(values)

    assert (len(whole), len(other)) == (3 * 4, 3 * 8)  # 1e10 is past int32: kept as float64
    assert sorted(unpack_split(whole, other).tolist()) == sorted(values)


def test_an_empty_day_packs_to_nothing():
    assert pack_split([]) == (b"", b"")
    assert median_of(unpack_split(b"", b"")) is None


def test_the_median_of_an_even_count_is_the_mean_of_the_two_middle_values():
    """1, 2, 10, 40 -> (2 + 10) / 2 = 6; 1, 2, 10 -> 2."""
    assert median_of(np.array([40.0, 1.0, 10.0, 2.0])) == 6.0
    assert median_of(np.array([10.0, 1.0, 2.0])) == 2.0
