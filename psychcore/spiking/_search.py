"""Grid search of the scaling factor lambda, scored by a task's ``accuracy_function``."""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_bool, check_int
from .._progress import progress_bar, show_progress
from .._rng import SeedLike, as_generator
from .._task import checked_accuracy, defines_accuracy
from ._lif import LIFParams, simulate_lif
from ._network import RateNetwork

OWNER = "lambda_search"


@dataclass(frozen=True, eq=False)
class LambdaSearchResult:
    """Accuracy of the LIF network for each lambda.

    Attributes:
        lambdas: ``(K,)`` the scaling factors tried, in the order given.
        accuracy: ``(K,)`` ``task.accuracy_function`` of each, on the same trials.
        best_lambda: The first lambda with the highest accuracy.
        n_trials: Trials per lambda.
    """

    lambdas: np.ndarray
    accuracy: np.ndarray
    best_lambda: float
    n_trials: int


def _simulate(network: RateNetwork, x: np.ndarray, params: LIFParams,
              seed: np.random.SeedSequence) -> np.ndarray:
    return simulate_lif(network, x, params, rng=np.random.default_rng(seed)).outputs_rate


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
) -> LambdaSearchResult:
    """Score the LIF network at every lambda with ``task.accuracy_function``.

    One batch of ``n_trials`` trials is drawn from ``task`` and every lambda is simulated on
    that same batch (a paired comparison); each lambda has its own noise generator spawned from
    ``rng``, so the result does not depend on ``workers``.

    Args:
        network: The rate network to convert.
        task: A psychcore task with an ``accuracy_function``; its ``dt`` (ms) must equal the
            network's (s).
        lambdas: Scaling factors, each > 0 (spikeRNN's grid: 20, 25, ..., 75).
        n_trials: Trials per lambda.
        workers: Processes; 1 simulates in this process. Each lambda is one batched
            simulation, so more than ``len(lambdas)`` workers do not help.
        rng: Generator or seed for the trials and all the draws.
        params: LIF parameters (their ``lam`` is replaced); spikeRNN's defaults by default.
        progress: A progress bar over the lambdas (tqdm); None: when stderr is a terminal or
            in a notebook, as training's.

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
    if progress is not None:
        progress = check_bool(progress, "progress", OWNER)
    if params is None:
        params = LIFParams(lam=float(lam[0]))
    if not isinstance(params, LIFParams):
        raise TypeError(f"{OWNER}: params must be a LIFParams or None; received "
                        f"{type(params).__name__}")
    task_dt = float(task.dt) / 1000.0
    if not math.isclose(task_dt, network.dt, rel_tol=1e-9):
        raise ValueError(f"{OWNER}: task.dt is {task.dt} ms but the network's dt is "
                         f"{network.dt * 1000} ms")

    gen = as_generator(rng, name="rng")
    task_rng, noise_seq = gen.spawn(2)
    x, y, mask, _ = task.get_trial_batch(rng=task_rng, N_batch=n_trials)
    seeds = np.random.SeedSequence(noise_seq.integers(2**63)).spawn(lam.size)
    all_params = [dataclasses.replace(params, lam=float(v)) for v in lam]
    outputs: list[np.ndarray | None] = [None] * lam.size
    bar = progress_bar(lam.size, show_progress(progress), desc="lambda search", unit="lambda")
    try:
        if workers == 1:
            for k in range(lam.size):
                outputs[k] = _simulate(network, x, all_params[k], seeds[k])
                bar.update()
        else:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(workers, lam.size), mp_context=ctx) as ex:
                futures = {ex.submit(_simulate, network, x, all_params[k], seeds[k]): k
                           for k in range(lam.size)}
                for fut in as_completed(futures):
                    outputs[futures[fut]] = fut.result()
                    bar.update()
    finally:
        bar.close()
    acc = np.array([checked_accuracy(task, task.accuracy_function(y, out, mask))
                    for out in outputs])
    return LambdaSearchResult(lambdas=lam, accuracy=acc, best_lambda=float(lam[np.argmax(acc)]),
                              n_trials=n_trials)
