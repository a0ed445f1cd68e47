"""Transitions start on the outgoing frame, end on the incoming one, and never change the size."""

from __future__ import annotations

import numpy as np
import pytest

from memories.render import transitions


@pytest.mark.parametrize("kind", sorted(transitions.TRANSITIONS))
def test_transition_runs_from_a_to_b(kind: str) -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    assert np.array_equal(transitions.compose(kind, a, b, 0.0), a)
    assert np.array_equal(transitions.compose(kind, a, b, 1.0), b)
    middle = transitions.compose(kind, a, b, 0.5)
    assert middle.shape == a.shape and middle.dtype == np.uint8
    assert not np.array_equal(middle, a) and not np.array_equal(middle, b)
    # Monotone: from a black frame to a white one, each step shows more of the white.
    black, white = np.zeros_like(a), np.full_like(a, 255)
    levels = [transitions.compose(kind, black, white, p).mean() for p in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert levels == sorted(levels) and levels[0] == 0 and levels[-1] == 255
