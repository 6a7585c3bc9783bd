"""Grid search of the scaling factor lambda, scored by a task's ``accuracy_function``."""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_bool, check_choice, check_int
from .._progress import progress_bar, show_progress
from .._rng import SeedLike, as_generator
from .._task import checked_accuracy, defines_accuracy
from ._lif import LIFParams, stacked
from ._network import RateNetwork, check_inputs

OWNER = "lambda_search"


@dataclass(frozen=True, eq=False)
class LambdaSearchResult:
    """Accuracy of the LIF network for each lambda.

    Attributes:
        lambdas: ``(K,)`` the scaling factors tried, in the order given.
        accuracy: ``(K,)`` ``task.accuracy_function`` of each, on the same trials.
        best_lambda: The first lambda with the highest accuracy.
        n_trials: Trials per lambda.
        firing_rate: ``(K,)`` mean firing rate of all neurons over the trials, in Hz.
        firing_rate_exc, firing_rate_inh: ``(K,)`` the same over the excitatory and the
            inhibitory neurons (NaN when there are none).
    """

    lambdas: np.ndarray
    accuracy: np.ndarray
    best_lambda: float
    n_trials: int
    firing_rate: np.ndarray
    firing_rate_exc: np.ndarray
    firing_rate_inh: np.ndarray


def _simulate(network: RateNetwork, x: np.ndarray, params: LIFParams, lams: np.ndarray,
              seed: np.random.SeedSequence, dtype: str, noise_thread: bool,
              progress: Callable[[float], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Outputs per rate step ``(K, B, T, N_out)`` and spike counts ``(K, B, N)`` of the
    lambdas ``lams``, all on the same trials, initial voltages and noise (from ``seed``)."""
    run = stacked(network, x, params, lams, gen=np.random.default_rng(seed), dtype=dtype,
                  keep_spikes=False, progress=progress, noise_thread=noise_thread)
    K, B = lams.size, x.shape[0]
    return (run.outputs_rate.reshape(K, B, *run.outputs_rate.shape[1:]),
            run.counts.reshape(K, B, network.N))


def lambda_search(
    network: RateNetwork,
    task: Any,
    lambdas: Sequence[float],
    n_trials: int,
    *,
    workers: int = 1,
    rng: SeedLike = None,
    params: LIFParams | None = None,
    progress: bool | None = None,
    dtype: str = "float32",
    noise_thread: bool = False,
) -> LambdaSearchResult:
    """Score the LIF network at every lambda with ``task.accuracy_function``.

    One batch of ``n_trials`` trials is drawn from ``task``, and every lambda is simulated on
    those trials with the same initial voltages and the same voltage noise (common random
    numbers: the accuracies differ by lambda, not by draw). The lambdas are stacked on the
    batch axis of one simulation (:func:`~psychcore.spiking.simulate_lif`'s loop), which
    draws the noise once for all of them; ``workers`` processes each simulate a share of the
    lambdas with the same draws, so the result does not depend on ``workers``.

    Args:
        network: The rate network to convert.
        task: A psychcore task with an ``accuracy_function``; its ``dt`` (ms) must equal the
            network's (s).
        lambdas: Scaling factors, each > 0 (spikeRNN's grid: 20, 25, ..., 75).
        n_trials: Trials per lambda.
        workers: Processes; 1 simulates in this process. More than ``len(lambdas)`` workers
            do not help.
        rng: Generator or seed for the trials and all the draws.
        params: LIF parameters (their ``lam`` is ignored); spikeRNN's defaults by default.
            ``spikernn_compat`` must be off (spikeRNN's own search is reproduced trial by
            trial with :func:`~psychcore.spiking.simulate_lif`).
        progress: A progress bar over the lambdas (tqdm); None: when stderr is a terminal or
            in a notebook, as training's.
        dtype: ``"float32"`` (default) or ``"float64"``, as for ``simulate_lif``.
        noise_thread: Draw the noise in a worker thread in each process, as for
            ``simulate_lif`` (the result does not depend on it; off by default).

    Returns:
        :class:`LambdaSearchResult`.

    Raises:
        TypeError, ValueError: For invalid arguments.
    """
    if not isinstance(network, RateNetwork):
        raise TypeError(f"{OWNER}: network must be a RateNetwork; received "
                        f"{type(network).__name__}")
    if not hasattr(task, "get_trial_batch") or not defines_accuracy(task):
        raise TypeError(f"{OWNER}: task must be a psychcore Task with an accuracy_function; "
                        f"received {type(task).__name__}")
    try:
        lam = np.asarray(lambdas, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"{OWNER}: lambdas must be a sequence of numbers; received "
                        f"{type(lambdas).__name__}") from None
    if lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise ValueError(f"{OWNER}: lambdas must be a non-empty sequence of finite numbers "
                         f"> 0; received {np.asarray(lambdas).tolist()}")
    n_trials = check_int(n_trials, "n_trials", OWNER)
    workers = check_int(workers, "workers", OWNER)
    check_choice(dtype, "dtype", OWNER, ("float32", "float64"))
    noise_thread = check_bool(noise_thread, "noise_thread", OWNER)
    if progress is not None:
        progress = check_bool(progress, "progress", OWNER)
    if params is None:
        params = LIFParams(lam=float(lam[0]))
    if not isinstance(params, LIFParams):
        raise TypeError(f"{OWNER}: params must be a LIFParams or None; received "
                        f"{type(params).__name__}")
    if params.spikernn_compat:
        raise ValueError(f"{OWNER}: params.spikernn_compat must be False (the search uses the "
                         "fast loop; reproduce spikeRNN trial by trial with simulate_lif)")
    task_dt = float(task.dt) / 1000.0
    if not math.isclose(task_dt, network.dt, rel_tol=1e-9):
        raise ValueError(f"{OWNER}: task.dt is {task.dt} ms but the network's dt is "
                         f"{network.dt * 1000} ms")

    gen = as_generator(rng, name="rng")
    task_rng, noise_seq = gen.spawn(2)
    x, y, mask, _ = task.get_trial_batch(rng=task_rng, N_batch=n_trials)
    x = check_inputs(network, x)
    seed = np.random.SeedSequence(noise_seq.integers(2**63))
    groups = [g for g in np.array_split(np.arange(lam.size), min(workers, lam.size)) if g.size]
    outputs = np.empty((lam.size, n_trials, x.shape[1], network.N_out))
    counts = np.empty((lam.size, n_trials, network.N))
    bar = progress_bar(lam.size, show_progress(progress), desc="lambda search", unit="lambda")
    try:
        if len(groups) == 1:
            done = [0.0]

            def advance(fraction: float) -> None:
                step = round(fraction * lam.size, 2) - done[0]
                if step > 0:
                    bar.update(step)
                    done[0] += step

            outputs[:], counts[:] = _simulate(network, x, params, lam, seed, dtype,
                                              noise_thread, advance)
        else:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=len(groups), mp_context=ctx) as ex:
                futures = {ex.submit(_simulate, network, x, params, lam[g], seed, dtype,
                                     noise_thread): g
                           for g in groups}
                for fut in as_completed(futures):
                    g = futures[fut]
                    outputs[g], counts[g] = fut.result()
                    bar.update(g.size)
    finally:
        bar.close()
    acc = np.array([checked_accuracy(task, task.accuracy_function(y, out, mask))
                    for out in outputs])
    seconds = x.shape[1] * network.dt
    rates = counts / seconds  # (K, B, N) in Hz
    exc = network.excitatory

    def mean_rate(sel: np.ndarray) -> np.ndarray:
        return rates[:, :, sel].mean(axis=(1, 2)) if sel.any() else np.full(lam.size, np.nan)

    return LambdaSearchResult(lambdas=lam, accuracy=acc, best_lambda=float(lam[np.argmax(acc)]),
                              n_trials=n_trials, firing_rate=rates.mean(axis=(1, 2)),
                              firing_rate_exc=mean_rate(exc), firing_rate_inh=mean_rate(~exc))
