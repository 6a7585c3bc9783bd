"""The LIF loops' voltage noise, in chunks of steps, optionally drawn ahead in a thread.

Every step adds ``draw / (1 / noise_sd)`` to the ``(B, N)`` voltages. :class:`NoiseSource`
hands the loop one step's ``(B, N)`` noise at a time from chunks of ``chunk`` steps, filled
from the given standard-normal draws or from the generator: ``standard_normal(out=chunk)`` over
one stream, so the draws equal ``gen.standard_normal((n_steps, B, N), dtype)``.

With ``thread=True`` a worker thread fills chunk ``k + 1`` into a second buffer while the loop
uses chunk ``k``. It is the only user of the generator while the loop runs and draws the
chunks in order, so the numbers are the ones the loop would draw itself; drawing releases the
GIL (NumPy's ``Generator`` fills arrays with the GIL released), so on two or more cores the
draws, about two thirds of a 100-trial simulation, overlap the loop's own work.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

import numpy as np

from .._checks import describe
from .._prefetch import _usable_cpus

CHUNK = 32
"""Steps of noise in one chunk."""


def noise_thread_default(value: bool | None, owner: str, workers: int = 1) -> bool:
    """``value`` checked; None is True when this process may use ``2 * workers`` CPUs.

    Args:
        value: The caller's ``noise_thread`` argument.
        owner: The public function, for error messages.
        workers: Processes that will each run a loop (and a thread).

    Raises:
        TypeError: If ``value`` is neither None nor a bool.
    """
    if value is None:
        return _usable_cpus() >= 2 * workers
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{owner}: noise_thread must be True, False or None; received "
                        f"{describe(value)}")
    return bool(value)


class NoiseSource:
    """The noise of each step of a loop over ``n_steps`` steps, ``(B, N)`` in ``dtype``.

    Use it as a context manager: leaving the block waits for a chunk being drawn and ends the
    thread, also when the loop raises; an exception in the thread is raised by :meth:`step`.

    Args:
        gen: Draws the noise when ``given`` is None.
        given: ``(B, n_steps, N)`` standard normal draws, or None.
        shape: ``(B, N)``.
        n_steps: Steps of the loop.
        noise_sd: Standard deviation; 0 turns the noise off (:meth:`step` returns None).
        dtype: Of the noise handed out (and of the draws from ``gen``).
        thread: Fill the next chunk in a worker thread.
        chunk: Steps per chunk.
    """

    def __init__(self, gen: np.random.Generator | None, given: np.ndarray | None,
                 shape: tuple[int, int], n_steps: int, noise_sd: float, dtype: type,
                 thread: bool, chunk: int = CHUNK) -> None:
        self.enabled = noise_sd > 0
        self.gen, self.given, self.n_steps, self.chunk = gen, given, n_steps, chunk
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
            self.gen.standard_normal(out=out, dtype=self.dtype)
            out /= self.divisor
        return buf
