"""The LIF loops' voltage noise, in chunks of steps, optionally drawn ahead in a thread.

Every step adds ``draw / (1 / noise_sd)`` to the ``(B, N)`` voltages. :class:`NoiseSource`
hands the loop one step's ``(B, N)`` noise at a time from chunks of ``chunk`` steps, filled
from the given standard-normal draws or drawn from the bit generator of
:func:`noise_bit_generator` (SFC64, seeded by one draw of the generator handed down):

- ``float32``: :func:`standard_normal_f32`, the Box-Muller transform of its 64-bit words,
  vectorised (about 2.5 times faster than NumPy's ``standard_normal`` in float32, whose
  ziggurat costs 15-19 ns a draw on the development machine, against 3.5 ns for a 64-bit word);
- ``float64``: ``Generator(bits).standard_normal``.

Either way the chunks continue one stream: the draws equal one draw of the whole
``(n_steps, B, N)`` array.

With ``thread=True`` a worker thread fills chunk ``k + 1`` into a second buffer while the loop
uses chunk ``k``. It is the only user of the bit generator and draws the chunks in order, so
the numbers are the ones the loop would draw itself. NumPy draws and transforms arrays with the
GIL released, but each of the transform's dozen NumPy calls per block needs the GIL back, and
the loop, a few dozen short NumPy calls per step, holds it nearly all the time: CPython hands
it to the waiting thread when the loop waits or after its switch interval (5 ms). The thread
pays only with a truly free second core; on the development machine (2 virtual cores, shared)
it was slower in most runs, so it is off by default.
"""

from __future__ import annotations

import math
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

import numpy as np

CHUNK = 32
"""Steps of noise in one chunk drawn by the worker thread (fewer hand-overs)."""

CHUNK_IN_LOOP = 8
"""Steps of noise in one chunk drawn in the loop (the chunk stays in the cache)."""

BLOCK = 1 << 17
"""Pairs of float32 draws transformed at once: temporaries of 0.5 MB, and few enough NumPy
calls that a worker thread drawing them seldom holds the GIL the loop needs (blocks of 8,192
pairs made the loop beside it twice as slow)."""

_LOW = 0 if sys.byteorder == "little" else 1  # the low 32-bit half of a 64-bit word


def noise_bit_generator(gen: np.random.Generator) -> np.random.SFC64:
    """The bit generator of the noise: SFC64 seeded by one draw of ``gen`` (which it advances).

    Args:
        gen: The generator handed down.

    Returns:
        A new ``numpy.random.SFC64``.
    """
    return np.random.SFC64(np.random.SeedSequence(int(gen.integers(2**63))))


def standard_normal_f32(bits: np.random.BitGenerator, out: np.ndarray) -> None:
    """Fill the C-contiguous float32 array ``out`` with standard normal draws (Box-Muller).

    Pair ``k`` comes from the 64-bit word ``k`` of ``bits.random_raw``: its low 32 bits ``a``
    give the radius ``sqrt(-2 ln((a + 1/2) / 2**32))``, its high 32 bits ``b`` the angle
    ``2 pi b / 2**32``; the flattened ``out[2k]`` is the radius times the cosine and
    ``out[2k + 1]`` times the sine (an odd size drops the last sine), so filling an array in
    pieces of even size gives the numbers of one fill. In float32 the largest draw is 6.76 in
    absolute value (a standard normal exceeds it once in 7e10 draws) and the radius is exact
    to float32 rounding (``a`` is exact below 2**24, where the tail is).

    Args:
        bits: A bit generator whose ``random_raw`` gives 64 random bits a word (PCG64, SFC64,
            Philox; not MT19937).
        out: Filled in place.

    Raises:
        ValueError: If ``out`` is not a C-contiguous float32 array.
    """
    if out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"standard_normal_f32: out must be a C-contiguous float32 array; "
                         f"received {out.dtype}, contiguous={out.flags.c_contiguous}")
    flat = out.reshape(-1)
    n_pairs = (flat.size + 1) // 2
    size = min(BLOCK, n_pairs)
    radius, angle, trig = (np.empty(size, dtype=np.float32) for _ in range(3))
    for first in range(0, n_pairs, size):
        m = min(size, n_pairs - first)
        halves = bits.random_raw(m).view(np.uint32)
        r, a, t = radius[:m], angle[:m], trig[:m]
        np.add(halves[_LOW::2], 0.5, out=r, dtype=np.float32)
        r *= np.float32(2.0**-32)
        np.log(r, out=r)
        r *= np.float32(-2.0)
        np.sqrt(r, out=r)
        np.multiply(halves[1 - _LOW::2], 2 * math.pi / 2**32, out=a, dtype=np.float32)
        part = flat[2 * first: 2 * (first + m)]
        np.cos(a, out=t)
        np.multiply(t, r, out=part[0::2])
        np.sin(a, out=t)
        n_sin = part.size // 2
        np.multiply(t[:n_sin], r[:n_sin], out=part[1::2])


class NoiseSource:
    """The noise of each step of a loop over ``n_steps`` steps, ``(B, N)`` in ``dtype``.

    Use it as a context manager: leaving the block waits for a chunk being drawn and ends the
    thread, also when the loop raises; an exception in the thread is raised by :meth:`step`.

    Args:
        gen: When ``given`` is None, seeds the noise's bit generator
            (:func:`noise_bit_generator`, one draw, here).
        given: ``(B, n_steps, N)`` standard normal draws, or None.
        shape: ``(B, N)``.
        n_steps: Steps of the loop.
        noise_sd: Standard deviation; 0 turns the noise off (:meth:`step` returns None).
        dtype: ``np.float32`` or ``np.float64``: of the noise handed out and of the draws.
        thread: Fill the next chunk in a worker thread.
        chunk: Steps per chunk (even, so that float32 chunks continue one stream); by
            default :data:`CHUNK` with the thread, :data:`CHUNK_IN_LOOP` without. The numbers
            do not depend on it.
    """

    def __init__(self, gen: np.random.Generator | None, given: np.ndarray | None,
                 shape: tuple[int, int], n_steps: int, noise_sd: float, dtype: type,
                 thread: bool, chunk: int | None = None) -> None:
        self.enabled = noise_sd > 0
        if chunk is None:
            chunk = CHUNK if thread else CHUNK_IN_LOOP
        self.given, self.n_steps, self.chunk = given, n_steps, chunk
        self.bits = noise_bit_generator(gen) if self.enabled and given is None else None
        self._normal = None if self.bits is None else np.random.Generator(self.bits)
        # a scalar of the noise's dtype: ``draw / divisor`` rounds as the loops always did
        self.divisor = dtype(1.0 / noise_sd) if self.enabled else dtype(1.0)
        self.dtype = dtype
        n_buffers = 2 if thread and self.enabled and n_steps > chunk else 1
        size = min(chunk, n_steps) if self.enabled else 0
        self._buffers = [np.empty((size, *shape), dtype=dtype) for _ in range(n_buffers)]
        self._current = self._buffers[0]
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    @property
    def threaded(self) -> bool:
        """Whether a worker thread fills the chunks."""
        return len(self._buffers) == 2

    def __enter__(self) -> NoiseSource:
        if self.threaded:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="psychcore-noise")
            self._pending = self._pool.submit(self._fill, self._buffers[0], 0)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Wait for a chunk being drawn (its exception, if any, is dropped) and end the
        thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._pending = None

    def step(self, i: int) -> np.ndarray | None:
        """The noise of step ``i`` (a view, valid until the next chunk starts); steps come in
        order ``0, 1, ...``."""
        if not self.enabled:
            return None
        k = i % self.chunk
        if k == 0:
            self._next_chunk(i)
        return self._current[k]

    def _next_chunk(self, start: int) -> None:
        if not self.threaded:
            self._current = self._fill(self._buffers[0], start)
            return
        if self._pending is None:
            raise RuntimeError("NoiseSource.step: the worker thread is not running (use the "
                               "NoiseSource as a context manager)")
        self._current = self._pending.result()
        self._pending = None
        after = start + self.chunk
        if after < self.n_steps:
            spare = self._buffers[1] if self._current is self._buffers[0] else self._buffers[0]
            self._pending = self._pool.submit(self._fill, spare, after)

    def _fill(self, buf: np.ndarray, start: int) -> np.ndarray:
        """``buf[:n]``: the noise of steps ``start`` to ``start + n``."""
        n = min(self.chunk, self.n_steps - start)
        out = buf[:n]
        if self.given is not None:
            np.divide(self.given[:, start:start + n].transpose(1, 0, 2), self.divisor, out=out)
        else:
            self._draw(out)
            out /= self.divisor
        return buf

    def _draw(self, out: np.ndarray) -> None:
        """Standard normal draws into ``out``, continuing the stream."""
        if self.dtype == np.float32:
            standard_normal_f32(self.bits, out)
        else:
            self._normal.standard_normal(out=out, dtype=self.dtype)
