"""Seeds and random generators: every random draw in psychcore goes through these helpers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

SeedLike = int | np.random.Generator | np.random.SeedSequence | None


def as_generator(seed: SeedLike, *, name: str = "seed") -> np.random.Generator:
    """Turn a seed into a :class:`numpy.random.Generator`.

    Args:
        seed: ``None`` (fresh entropy), a non-negative integer, a ``SeedSequence`` or a
            ``Generator`` (returned as is, so draws continue from its current state).
        name: The argument name used in error messages.

    Returns:
        The generator.

    Raises:
        TypeError: If ``seed`` is of another type.
        ValueError: If ``seed`` is a negative integer.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(
            f"{name} must be None, an int, a numpy SeedSequence or a numpy Generator; "
            f"received {type(seed).__name__}"
        )
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative integer; received {seed}")
    return np.random.default_rng(int(seed))


def spawn(rng: np.random.Generator, n: int) -> list[np.random.Generator]:
    """Derive ``n`` independent child generators from ``rng`` (advancing it)."""
    return list(rng.spawn(n))


@contextlib.contextmanager
def legacy_global_rng(rng: np.random.Generator) -> Iterator[None]:
    """Seed NumPy's legacy global generator from ``rng`` for the duration of a block.

    Task files written for PsychRNN draw from ``np.random.*``. Seeding the global state from
    the task's Generator makes those draws reproducible under psychcore's seed; the caller's
    global state is restored afterwards, so nothing outside the block is disturbed.
    """
    saved = np.random.get_state()
    np.random.seed(int(rng.integers(0, 2**32 - 1, dtype=np.uint64)))
    try:
        yield
    finally:
        np.random.set_state(saved)


def generator_state_array(rng: np.random.Generator) -> np.ndarray:
    """Encode a Generator's full state as a uint8 array (for checkpoints without pickle)."""
    import json

    return np.frombuffer(json.dumps(rng.bit_generator.state).encode("utf-8"), dtype=np.uint8)


def set_generator_state(rng: np.random.Generator, state: np.ndarray) -> None:
    """Restore a state encoded by :func:`generator_state_array` into ``rng``."""
    import json

    rng.bit_generator.state = json.loads(np.asarray(state, dtype=np.uint8).tobytes())
