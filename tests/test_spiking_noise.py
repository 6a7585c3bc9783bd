"""The LIF loops' voltage noise drawn ahead in a worker thread (psychcore.spiking._noise)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from test_spiking import Pulse, small_network

from psychcore.spiking import LIFParams, RateNetwork, lambda_search, simulate_lif
from psychcore.spiking._noise import NoiseSource, noise_thread_default


def noise_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("psychcore-noise")]


def read_all(source: NoiseSource, n_steps: int) -> np.ndarray:
    return np.stack([source.step(i).copy() for i in range(n_steps)])


@pytest.mark.parametrize("thread", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunks_continue_one_stream(thread, dtype):
    """Chunk after chunk (the last one short), with or without the thread: the draws of
    ``standard_normal((n_steps, B, N))`` divided by ``1 / noise_sd``, and the generator ends
    where that draw leaves it."""
    n_steps, shape = 23, (3, 4)
    gen = np.random.default_rng(11)
    with NoiseSource(gen, None, shape, n_steps, 0.1, dtype, thread=thread, chunk=5) as src:
        assert src.threaded == thread
        got = read_all(src, n_steps)
    ref = np.random.default_rng(11)
    expected = ref.standard_normal((n_steps, *shape), dtype=dtype)
    expected /= dtype(1 / 0.1)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == dtype
    assert gen.bit_generator.state == ref.bit_generator.state
    assert not noise_threads()


def test_given_draws_and_no_noise():
    given = np.random.default_rng(3).standard_normal((2, 9, 4))
    with NoiseSource(None, given, (2, 4), 9, 0.5, np.float32, thread=True, chunk=4) as src:
        got = read_all(src, 9)
    np.testing.assert_array_equal(
        got, (given / np.float32(2.0)).astype(np.float32).transpose(1, 0, 2))
    with NoiseSource(np.random.default_rng(0), None, (2, 4), 9, 0.0, np.float32,
                     thread=True) as src:
        assert not src.threaded and src.step(0) is None


class Failing:
    """A generator whose third chunk fails."""

    def __init__(self) -> None:
        self.calls = 0

    def standard_normal(self, out, dtype):
        self.calls += 1
        if self.calls == 3:
            raise MemoryError("no memory for the noise")
        out[:] = self.calls


def test_an_error_in_the_thread_is_raised_by_the_loop_and_the_thread_ends():
    with pytest.raises(MemoryError, match="no memory for the noise"), \
            NoiseSource(Failing(), None, (1, 2), 20, 1.0, np.float64, thread=True,
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


def test_noise_thread_option_is_checked(monkeypatch):
    net: RateNetwork = small_network()
    with pytest.raises(TypeError, match="noise_thread must be True, False or None; received"):
        simulate_lif(net, np.zeros((5, 2)), LIFParams(lam=1.0), noise_thread="yes")
    with pytest.raises(TypeError, match="lambda_search: noise_thread"):
        lambda_search(net, Pulse(), [1.0], 2, progress=False, noise_thread=1)
    import psychcore.spiking._noise as noise_module

    monkeypatch.setattr(noise_module, "_usable_cpus", lambda: 2)
    assert noise_thread_default(None, "f") is True
    assert noise_thread_default(None, "f", workers=2) is False
    assert noise_thread_default(False, "f") is False
    monkeypatch.setattr(noise_module, "_usable_cpus", lambda: 1)
    assert noise_thread_default(None, "f") is False
