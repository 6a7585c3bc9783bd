"""The LIF loops' voltage noise drawn ahead in a worker thread (psychcore.spiking._noise)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from test_spiking import Pulse, small_network

from psychcore.spiking import LIFParams, RateNetwork, lambda_search, simulate_lif
from psychcore.spiking._noise import (
    NoiseSource,
    noise_bit_generator,
    standard_normal_f32,
)


def noise_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("psychcore-noise")]


def read_all(source: NoiseSource, n_steps: int) -> np.ndarray:
    return np.stack([source.step(i).copy() for i in range(n_steps)])


@pytest.mark.parametrize("thread", [False, True])
@pytest.mark.parametrize(("dtype", "shape"), [(np.float32, (3, 5)), (np.float64, (3, 4))])
def test_chunks_continue_one_stream(thread, dtype, shape):
    """Chunk after chunk (the last one short; in float32 an odd number of draws per step),
    with or without the thread: one draw of the whole ``(n_steps, B, N)`` array from the
    SFC64 seeded by one draw of the generator handed down, divided by ``1 / noise_sd``."""
    n_steps = 23
    gen = np.random.default_rng(11)
    with NoiseSource(gen, None, shape, n_steps, 0.1, dtype, thread=thread, chunk=6) as src:
        assert src.threaded == thread
        got = read_all(src, n_steps)
    ref = np.random.default_rng(11)
    bits = noise_bit_generator(ref)
    assert gen.bit_generator.state == ref.bit_generator.state  # one draw
    expected = np.empty((n_steps, *shape), dtype=dtype)
    if dtype == np.float32:
        standard_normal_f32(bits, expected)
    else:
        np.random.Generator(bits).standard_normal(out=expected)
    expected /= dtype(1 / 0.1)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == dtype
    assert not noise_threads()


def test_box_muller_draws_are_standard_normal():
    """2**21 float32 draws: mean, variance, kurtosis, the normal CDF (Kolmogorov-Smirnov), no
    correlation between the two draws of a pair or between neighbouring pairs, the tail."""
    scipy_stats = pytest.importorskip("scipy.stats")
    z = np.empty(2**21, dtype=np.float32)
    standard_normal_f32(np.random.SFC64(3), z)
    x = z.astype(np.float64)
    n = x.size
    assert abs(x.mean()) < 5 / np.sqrt(n)
    assert abs(x.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs(np.mean(x**4) - 3) < 5 * np.sqrt(96 / n)
    assert scipy_stats.kstest(x, "norm").pvalue > 1e-3
    for lag in (1, 2):
        assert abs(np.mean(x[lag:] * x[:-lag])) < 5 / np.sqrt(n)
    assert abs(np.mean(x[0::2] ** 2 * x[1::2] ** 2) - 1) < 5 * np.sqrt(8 / n)
    assert 4.0 < np.abs(x).max() < 6.77
    assert np.mean(np.abs(x) > 3) == pytest.approx(2 * scipy_stats.norm.sf(3), rel=0.1)


def test_box_muller_fills_in_pieces_as_in_one_and_checks_out(monkeypatch):
    whole = np.empty((7, 6), dtype=np.float32)
    standard_normal_f32(np.random.SFC64(8), whole)
    import psychcore.spiking._noise as noise_module

    monkeypatch.setattr(noise_module, "BLOCK", 4)  # blocks of 4 pairs: the same numbers
    blocks = np.empty((7, 6), dtype=np.float32)
    standard_normal_f32(np.random.SFC64(8), blocks)
    np.testing.assert_array_equal(blocks, whole)
    bits = np.random.SFC64(8)
    pieces = np.empty((7, 6), dtype=np.float32)
    for rows in (slice(0, 1), slice(1, 4), slice(4, 7)):
        standard_normal_f32(bits, pieces[rows])
    np.testing.assert_array_equal(pieces, whole)
    odd = np.empty(5, dtype=np.float32)  # the last pair's sine is dropped
    standard_normal_f32(np.random.SFC64(8), odd)
    np.testing.assert_array_equal(odd, whole.reshape(-1)[:5])
    with pytest.raises(ValueError, match="C-contiguous float32"):
        standard_normal_f32(np.random.SFC64(8), np.empty(4))
    with pytest.raises(ValueError, match="C-contiguous float32"):
        standard_normal_f32(np.random.SFC64(8), np.empty((4, 4), dtype=np.float32)[:, :2])


def test_given_draws_and_no_noise():
    given = np.random.default_rng(3).standard_normal((2, 9, 4))
    with NoiseSource(None, given, (2, 4), 9, 0.5, np.float32, thread=True, chunk=4) as src:
        got = read_all(src, 9)
    np.testing.assert_array_equal(
        got, (given / np.float32(2.0)).astype(np.float32).transpose(1, 0, 2))
    with NoiseSource(np.random.default_rng(0), None, (2, 4), 9, 0.0, np.float32,
                     thread=True) as src:
        assert not src.threaded and src.step(0) is None


class Failing(NoiseSource):
    """Its third chunk fails."""

    calls = 0

    def _draw(self, out):
        self.calls += 1
        if self.calls == 3:
            raise MemoryError("no memory for the noise")
        out[:] = self.calls


def test_an_error_in_the_thread_is_raised_by_the_loop_and_the_thread_ends():
    with pytest.raises(MemoryError, match="no memory for the noise"), \
            Failing(np.random.default_rng(0), None, (1, 2), 20, 1.0, np.float64, thread=True,
                    chunk=4) as src:
        for i in range(20):
            src.step(i)
    assert not noise_threads()


def test_the_thread_ends_when_the_loop_raises():
    gen = np.random.default_rng(0)
    with pytest.raises(KeyboardInterrupt), \
            NoiseSource(gen, None, (10, 10), 1000, 1.0, np.float32, thread=True,
                        chunk=50) as src:
        for i in range(60):
            src.step(i)
        raise KeyboardInterrupt
    assert not noise_threads()


@pytest.mark.parametrize(("compat", "dtype"), [(False, "float32"), (False, "float64"),
                                             (True, "float64")])
def test_simulate_lif_gives_the_same_results_with_and_without_the_thread(compat, dtype):
    net = small_network()
    x = np.random.default_rng(2).standard_normal((3, 7, 2))
    params = LIFParams(lam=1.0, spikernn_compat=compat)
    runs = [simulate_lif(net, x, params, rng=5, dtype=dtype, record_voltages=[0, 3],
                         noise_thread=thread) for thread in (False, True)]
    a, b = runs
    assert a.spike_step.size > 0
    for name in ("spike_trial", "spike_step", "spike_unit", "outputs", "outputs_rate",
                 "voltages", "v0"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not noise_threads()


def test_lambda_search_gives_the_same_results_with_and_without_the_thread():
    net = small_network()
    a, b = (lambda_search(net, Pulse(), [1.0, 5.0], 4, rng=7, progress=False,
                          noise_thread=thread) for thread in (False, True))
    np.testing.assert_array_equal(a.accuracy, b.accuracy)
    np.testing.assert_array_equal(a.firing_rate, b.firing_rate)


def test_noise_thread_option_is_checked():
    net: RateNetwork = small_network()
    with pytest.raises(TypeError, match="simulate_lif: noise_thread must be a bool; received"):
        simulate_lif(net, np.zeros((5, 2)), LIFParams(lam=1.0), noise_thread="yes")
    with pytest.raises(TypeError, match="lambda_search: noise_thread must be a bool"):
        lambda_search(net, Pulse(), [1.0], 2, progress=False, noise_thread=None)
