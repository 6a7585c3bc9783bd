"""Psychometric functions: choice probabilities per signed coherence and their fitted curve.

Conventions:

- The *signed coherence* of a trial is ``+coherence`` when its correct answer
  (``direction``) is the reported channel and ``-coherence`` otherwise, so the probability of
  choosing the reported channel rises with it (the paper's Figure 2B, with channel 1).
- Fits are maximum likelihood under a binomial model of the counts (``scipy.optimize``'s
  truncated Newton with bounds and the analytic gradient, from two starting points). Two
  families:

  - ``"logistic"``: ``p(x) = lapse + (1 - 2 lapse) / (1 + exp(-slope (x - bias)))``;
  - ``"weibull"``: a Weibull cumulative mirrored about the bias,
    ``p(x) = lapse + (1 - 2 lapse) (1/2 + sign(d)/2 (1 - exp(-(|d| / threshold)^shape)))``
    with ``d = x - bias``; at ``|d| = threshold`` the curve is at ``1/2 +- 0.316``.

  The lapse rate (symmetric: the same at both ends) is fitted only with ``lapse=True``
  (bounded to ``[0, 0.49]``), and is 0 otherwise.
- Uncertainty (``method``): ``"hessian"`` inverts the Fisher information at the estimate
  (the Hessian of the expected negative log-likelihood,
  ``sum_i n_i dp_i dp_i^T / (p_i (1 - p_i))``, with analytic derivatives ``dp_i``) and gives
  Wald intervals ``estimate +- z * SE``; ``"bootstrap"`` refits ``n_bootstrap`` data sets made by
  resampling trials with replacement and gives percentile intervals and the standard deviation
  of the refits as SE. The bootstrap is the better choice for few trials, or a lapse near 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import describe
from .._rng import SeedLike, as_generator
from . import _validate as v
from ._behaviour import choices

KINDS = ("logistic", "weibull")
METHODS = ("hessian", "bootstrap")
_EPS = 1e-12


# --------------------------------------------------------------------------- data
def signed_coherence(trial_params: Any, channel: int = 1) -> np.ndarray:
    """Signed coherence of each trial: ``+coherence`` if ``direction == channel``, else minus.

    Args:
        trial_params: The trial parameters of a batch (the object array of dicts returned by
            ``Task.get_trial_batch``, or any sequence of mappings), each with ``coherence``
            and ``direction``; or a mapping of arrays with those keys.
        channel: The output channel whose choices are reported.

    Returns:
        float64 array of shape ``(N_batch,)``.

    Raises:
        TypeError: If ``trial_params`` is not a sequence of mappings or a mapping of arrays.
        ValueError: If a trial lacks ``coherence`` or ``direction``.
    """
    owner = "signed_coherence"
    channel = v.integer(channel, "channel", owner, minimum=0)
    if isinstance(trial_params, Mapping):
        try:
            coh = np.asarray(trial_params["coherence"], dtype=np.float64).reshape(-1)
            direction = np.asarray(trial_params["direction"]).reshape(-1)
        except KeyError as exc:
            raise ValueError(
                f"{owner}: trial_params must have 'coherence' and 'direction'; missing {exc}"
            ) from exc
    else:
        if isinstance(trial_params, str | bytes) or not isinstance(
            trial_params, Sequence | np.ndarray
        ):
            raise TypeError(
                f"{owner}: trial_params must be a sequence of dicts (Task.get_trial_batch) or "
                f"a dict of arrays; received {describe(trial_params)}"
            )
        records = list(np.asarray(trial_params, dtype=object).reshape(-1))
        if not records or not all(isinstance(r, Mapping) for r in records):
            raise TypeError(
                f"{owner}: trial_params must be a non-empty sequence of dicts with 'coherence' "
                "and 'direction'"
            )
        missing = [i for i, r in enumerate(records) if "coherence" not in r or "direction" not in r]
        if missing:
            raise ValueError(
                f"{owner}: trial_params[{missing[0]}] has no 'coherence' or 'direction'; "
                f"keys: {sorted(records[missing[0]])}"
            )
        coh = np.array([float(r["coherence"]) for r in records])
        direction = np.array([r["direction"] for r in records])
    if coh.shape != direction.shape:
        raise ValueError(
            f"{owner}: 'coherence' and 'direction' must have the same length; received "
            f"{coh.shape[0]} and {direction.shape[0]}"
        )
    return np.where(direction == channel, coh, -coh)


@dataclass(frozen=True)
class ChoiceData:
    """Choice counts per signed-coherence level (what :func:`choice_probabilities` returns).

    Attributes:
        levels: Signed coherence of each level (the mean of its trials when binned), sorted.
        p_choice: Fraction of the level's trials that chose ``channel``.
        n_chosen: Number of trials that chose ``channel``.
        n_trials: Number of trials at the level.
        channel: The reported output channel.
    """

    levels: np.ndarray
    p_choice: np.ndarray
    n_chosen: np.ndarray
    n_trials: np.ndarray
    channel: int


def choice_probabilities(
    outputs: Any,
    conditions: Any,
    mask: Any = None,
    *,
    channel: int = 1,
    bins: int | Sequence[float] | np.ndarray | None = None,
) -> ChoiceData:
    """Probability of choosing ``channel`` at each signed coherence, from simulated trials.

    A trial's choice is the output channel with the greatest mean over its masked steps
    (:func:`choices`, the classic tasks' accuracy rule); trials without a masked step are
    left out.

    Args:
        outputs: Network outputs ``(N_batch, N_steps, N_out)``.
        conditions: Signed coherence per trial, shape ``(N_batch,)``, or the batch's trial
            parameters (with ``coherence`` and ``direction``; see :func:`signed_coherence`).
        mask: Output mask, the shape of ``outputs``; ``None`` averages over the whole trial.
        channel: The channel whose choice probability is reported (0-based; channel 1 is
            the second output).
        bins: ``None``: one level per distinct signed coherence (for tasks run at fixed
            coherences); an int ``k``: ``k`` quantile bins of about equal counts (for
            coherences drawn at random); a sequence of increasing bin edges.

    Returns:
        A :class:`ChoiceData`.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On shapes that do not fit, a channel the outputs do not have, or bins
            that leave no trial.
    """
    owner = "choice_probabilities"
    out = v.array(outputs, "outputs", owner, ndim=3, expected="shape (N_batch, N_steps, N_out)")
    channel = v.integer(channel, "channel", owner, minimum=0)
    if channel >= out.shape[2]:
        raise ValueError(
            f"{owner}: channel must be an output channel in [0, {out.shape[2]}); "
            f"received {channel}"
        )
    if isinstance(conditions, np.ndarray) and conditions.dtype != object or (
        isinstance(conditions, Sequence) and conditions and not isinstance(conditions[0], Mapping)
    ):
        x = v.array(conditions, "conditions", owner, shape=(out.shape[0],),
                    expected=f"shape (N_batch,) = ({out.shape[0]},)")
    else:
        x = signed_coherence(conditions, channel)
        if x.shape != (out.shape[0],):
            raise ValueError(
                f"{owner}: conditions must describe N_batch = {out.shape[0]} trials; "
                f"received {x.shape[0]}"
            )
    chosen = choices(out, mask)
    keep = chosen >= 0
    x, picked = x[keep], (chosen[keep] == channel)
    if x.size == 0:
        raise ValueError(f"{owner}: no trial has a masked step; nothing to count")
    if bins is None:
        key = np.round(x, 12)
        levels, index = np.unique(key, return_inverse=True)
        means = levels
    else:
        if isinstance(bins, bool):
            raise TypeError(f"{owner}: bins must be None, an int or bin edges; received a bool")
        if isinstance(bins, int | np.integer):
            k = v.integer(bins, "bins", owner, minimum=1)
            edges = np.unique(np.quantile(x, np.linspace(0.0, 1.0, k + 1)))
        else:
            edges = v.array(bins, "bins", owner, ndim=1, expected="increasing bin edges")
            if edges.size < 2 or np.any(np.diff(edges) <= 0):
                raise ValueError(
                    f"{owner}: bins must be at least 2 strictly increasing edges; "
                    f"received {edges.tolist()}"
                )
        index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
        inside = (x >= edges[0]) & (x <= edges[-1])
        x, picked, index = x[inside], picked[inside], index[inside]
        if x.size == 0:
            raise ValueError(f"{owner}: no trial falls inside the bins {edges.tolist()}")
        used, index = np.unique(index, return_inverse=True)
        means = np.array([x[index == i].mean() for i in range(used.size)])
    n_trials = np.bincount(index, minlength=means.size)
    n_chosen = np.bincount(index, weights=picked.astype(np.float64), minlength=means.size)
    n_chosen = n_chosen.astype(np.int64)
    return ChoiceData(levels=np.asarray(means, dtype=np.float64),
                      p_choice=n_chosen / n_trials, n_chosen=n_chosen,
                      n_trials=n_trials.astype(np.int64), channel=channel)


# --------------------------------------------------------------------------- models
def _logistic(x: np.ndarray, theta: np.ndarray, lapse: bool) -> tuple[np.ndarray, np.ndarray]:
    """Curve and its derivatives with respect to (bias, slope[, lapse]), ``(n_params, K)``."""
    bias, slope = theta[0], theta[1]
    lam = theta[2] if lapse else 0.0
    z = slope * (x - bias)
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    ds = (1.0 - 2.0 * lam) * s * (1.0 - s)
    rows = [-slope * ds, (x - bias) * ds] + ([1.0 - 2.0 * s] if lapse else [])
    return lam + (1.0 - 2.0 * lam) * s, np.array(rows)


def _weibull(x: np.ndarray, theta: np.ndarray, lapse: bool) -> tuple[np.ndarray, np.ndarray]:
    """Curve and derivatives with respect to (bias, threshold, shape[, lapse])."""
    bias, threshold, shape = theta[0], theta[1], theta[2]
    lam = theta[3] if lapse else 0.0
    d = x - bias
    ad = np.abs(d)
    sgn = np.sign(d)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        u = (ad / threshold) ** shape
        eu = np.exp(-u)
        w = 0.5 + 0.5 * sgn * (-np.expm1(-u))
        gain = 1.0 - 2.0 * lam
        dw_dd = np.where(ad > 0, 0.5 * eu * shape * u / np.where(ad > 0, ad, 1.0), 0.0)
        dw_dthr = -0.5 * sgn * eu * shape * u / threshold
        log_ratio = np.log(np.where(ad > 0, ad, 1.0) / threshold)
        dw_dshape = np.where(ad > 0, 0.5 * sgn * eu * u * log_ratio, 0.0)
    rows = [-gain * dw_dd, gain * dw_dthr, gain * dw_dshape] + ([1.0 - 2.0 * w] if lapse else [])
    return lam + gain * w, np.nan_to_num(np.array(rows))


_MODELS: dict[str, Callable[[np.ndarray, np.ndarray, bool], tuple[np.ndarray, np.ndarray]]] = {
    "logistic": _logistic,
    "weibull": _weibull,
}


def _names(kind: str, lapse: bool) -> tuple[str, ...]:
    base = ("bias", "slope") if kind == "logistic" else ("bias", "threshold", "shape")
    return base + (("lapse",) if lapse else ())


def _bounds(kind: str, lapse: bool) -> list[tuple[float | None, float | None]]:
    base: list[tuple[float | None, float | None]]
    if kind == "logistic":
        base = [(None, None), (None, None)]
    else:
        base = [(None, None), (1e-9, None), (0.05, 50.0)]
    return base + ([(0.0, 0.49)] if lapse else [])


def _nll_and_grad(theta: np.ndarray, x: np.ndarray, k: np.ndarray, n: np.ndarray, kind: str,
                  lapse: bool) -> tuple[float, np.ndarray]:
    """Binomial negative log-likelihood and its gradient."""
    p, dp = _MODELS[kind](x, theta, lapse)
    p = np.clip(p, _EPS, 1.0 - _EPS)
    nll = float(-np.sum(k * np.log(p) + (n - k) * np.log1p(-p)))
    grad = -dp @ (k / p - (n - k) / (1.0 - p))
    return nll, grad


def _starts(x: np.ndarray, k: np.ndarray, n: np.ndarray, kind: str, lapse: bool
            ) -> list[np.ndarray]:
    spread = float(np.ptp(x)) or 1.0
    p = (k + 0.5) / (n + 1.0)
    # bias guess: where the smoothed empirical curve is closest to 1/2
    bias0 = float(x[np.argmin(np.abs(p - 0.5))])
    increasing = bool(np.sum((x - x.mean()) * (p - p.mean()) * n) >= 0)
    starts = []
    for width in (0.1 * spread, 0.4 * spread):
        if kind == "logistic":
            theta = [bias0, (4.0 if increasing else -4.0) / width]
        else:
            theta = [bias0, width, 1.5]
        if lapse:
            theta.append(0.02)
        starts.append(np.array(theta, dtype=np.float64))
    return starts


def _maximise(x: np.ndarray, k: np.ndarray, n: np.ndarray, kind: str, lapse: bool,
              start: np.ndarray | None = None) -> tuple[np.ndarray, float, bool]:
    opt = v.scipy_optimize()
    best: Any = None
    for theta0 in _starts(x, k, n, kind, lapse) if start is None else [start]:
        res = opt.minimize(_nll_and_grad, theta0, args=(x, k, n, kind, lapse), jac=True,
                           method="TNC", bounds=_bounds(kind, lapse),
                           options={"maxfun": 2000, "ftol": 0.0, "xtol": 0.0, "gtol": 1e-10})
        if best is None or res.fun < best.fun:
            best = res
    return np.asarray(best.x, dtype=np.float64), float(best.fun), bool(best.success)


def _fisher_covariance(theta: np.ndarray, x: np.ndarray, n: np.ndarray, kind: str,
                       lapse: bool) -> np.ndarray:
    """Inverse of the Fisher information ``sum n dp dp^T / (p (1 - p))`` at ``theta``."""
    p, dp = _MODELS[kind](x, theta, lapse)
    p = np.clip(p, 1e-9, 1.0 - 1e-9)
    info = (dp * (n / (p * (1.0 - p)))) @ dp.T
    try:
        return np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(info)


@dataclass(frozen=True)
class PsychometricFit:
    """A fitted psychometric curve; call it on signed coherences to evaluate it.

    Attributes:
        kind: ``"logistic"`` or ``"weibull"``.
        params: Estimates by name (``bias``, ``slope`` or ``threshold`` and ``shape``, and
            ``lapse`` when fitted).
        stderr: Standard error of each estimate.
        ci: ``(low, high)`` confidence interval of each estimate at level ``ci_level``.
        ci_level: Confidence level of the intervals.
        method: ``"hessian"`` or ``"bootstrap"`` (see the module docstring).
        log_likelihood: Binomial log-likelihood at the estimate (without the binomial
            coefficients).
        n_trials: Total number of trials fitted.
        converged: Whether the optimiser reported success.
        lapse: Whether the lapse rate was fitted.
        bootstrap: The refitted parameter vectors (``(n_bootstrap, n_params)``) with
            ``method="bootstrap"``, else ``None``.
    """

    kind: str
    params: dict[str, float]
    stderr: dict[str, float]
    ci: dict[str, tuple[float, float]]
    ci_level: float
    method: str
    log_likelihood: float
    n_trials: int
    converged: bool
    lapse: bool
    bootstrap: np.ndarray | None = field(default=None, repr=False)

    def __call__(self, x: Any) -> np.ndarray:
        """The curve at signed coherences ``x`` (any shape); returns float64 of that shape."""
        xs = v.array(x, "x", "PsychometricFit", dtype=np.float64)
        theta = np.array([self.params[k] for k in _names(self.kind, self.lapse)])
        return _MODELS[self.kind](xs.reshape(-1), theta, self.lapse)[0].reshape(xs.shape)

    def curve(self, x: Any) -> np.ndarray:
        """Same as calling the fit: the fitted choice probability at ``x``."""
        return self(x)

    def summary(self) -> str:
        """One line: each parameter with its interval."""
        pct = round(100 * self.ci_level)
        parts = [f"{k} = {val:.4g} [{self.ci[k][0]:.4g}, {self.ci[k][1]:.4g}]"
                 for k, val in self.params.items()]
        return f"{self.kind} fit ({pct}% CI, {self.method}): " + ", ".join(parts)


def fit_psychometric(
    signed_coherence: Any,
    p_choice: Any,
    n: Any = None,
    *,
    kind: str = "logistic",
    lapse: bool = False,
    ci: float = 0.95,
    method: str = "hessian",
    n_bootstrap: int = 200,
    rng: SeedLike = None,
) -> PsychometricFit:
    """Maximum-likelihood fit of a psychometric curve to choice probabilities.

    Args:
        signed_coherence: Level of each data point, shape ``(K,)``.
        p_choice: Fraction of trials choosing the reported channel at each level, ``(K,)``,
            in ``[0, 1]``.
        n: Trials at each level, ``(K,)``; ``None`` means one trial per point (then
            ``p_choice`` must be 0 or 1: per-trial choices).
        kind: ``"logistic"`` or ``"weibull"`` (see the module docstring for the formulas).
        lapse: Also fit a symmetric lapse rate in ``[0, 0.49]``.
        ci: Confidence level of the intervals, in ``(0, 1)``.
        method: ``"hessian"`` (Fisher information, Wald intervals) or ``"bootstrap"``
            (trials resampled with replacement, percentile intervals).
        n_bootstrap: Number of bootstrap refits.
        rng: Seed or generator of the bootstrap.

    Returns:
        A :class:`PsychometricFit`.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On shapes that differ, probabilities outside ``[0, 1]``, counts that are
            not whole non-negative numbers, fewer distinct levels than parameters, or an
            unknown ``kind`` or ``method``.
    """
    owner = "fit_psychometric"
    kind = v.choice(kind, "kind", owner, KINDS)
    method = v.choice(method, "method", owner, METHODS)
    if not isinstance(lapse, bool | np.bool_):
        raise TypeError(f"{owner}: lapse must be a bool; received {describe(lapse)}")
    lapse = bool(lapse)
    level = v.real(ci, "ci", owner, low=0.0, high=1.0, low_open=True, high_open=True)
    x = v.array(signed_coherence, "signed_coherence", owner, ndim=1, expected="shape (K,)")
    p = v.array(p_choice, "p_choice", owner, shape=x.shape,
                expected=f"the shape of signed_coherence {x.shape}")
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"{owner}: p_choice must lie in [0, 1]; received values outside it")
    if n is None:
        counts = np.ones_like(x)
        if np.any((p != 0) & (p != 1)):
            raise ValueError(
                f"{owner}: without n, p_choice must hold per-trial choices (0 or 1); "
                "pass n, the number of trials per level"
            )
    else:
        counts = v.array(n, "n", owner, shape=x.shape,
                         expected=f"the shape of signed_coherence {x.shape}")
        if np.any(counts < 0) or np.any(counts != np.round(counts)):
            raise ValueError(f"{owner}: n must hold whole numbers >= 0; received {counts}")
    keep = counts > 0
    x, p, counts = x[keep], p[keep], counts[keep]
    k = np.round(p * counts)
    n_params = len(_names(kind, lapse))
    if np.unique(x).size < n_params:
        raise ValueError(
            f"{owner}: a {kind} fit{' with lapse' if lapse else ''} has {n_params} parameters "
            f"and needs at least {n_params} distinct levels with trials; received "
            f"{np.unique(x).size}"
        )
    theta, nll, converged = _maximise(x, k, counts, kind, lapse)
    names = _names(kind, lapse)
    boot = None
    if method == "hessian":
        cov = _fisher_covariance(theta, x, counts, kind, lapse)
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        z = _normal_quantile(0.5 + level / 2.0)
        low, high = theta - z * se, theta + z * se
        if lapse:
            low[-1] = max(low[-1], 0.0)
    else:
        n_boot = v.integer(n_bootstrap, "n_bootstrap", owner, minimum=2)
        gen = as_generator(rng, name="rng")
        # expand to trials, resample trials, recount per level
        trial_x = np.repeat(np.arange(x.size), counts.astype(np.int64))
        trial_choice = np.concatenate([
            np.r_[np.ones(int(ki)), np.zeros(int(ni - ki))] for ki, ni in zip(k, counts,
                                                                                strict=True)
        ])
        boot = np.empty((n_boot, theta.size))
        for b in range(n_boot):
            pick = gen.integers(0, trial_x.size, trial_x.size)
            nb = np.bincount(trial_x[pick], minlength=x.size).astype(np.float64)
            kb = np.bincount(trial_x[pick], weights=trial_choice[pick], minlength=x.size)
            use = nb > 0
            boot[b] = _maximise(x[use], kb[use], nb[use], kind, lapse, start=theta)[0]
        se = boot.std(axis=0, ddof=1)
        low = np.quantile(boot, (1.0 - level) / 2.0, axis=0)
        high = np.quantile(boot, (1.0 + level) / 2.0, axis=0)
    return PsychometricFit(
        kind=kind,
        params={nm: float(t) for nm, t in zip(names, theta, strict=True)},
        stderr={nm: float(s) for nm, s in zip(names, se, strict=True)},
        ci={nm: (float(lo), float(hi)) for nm, lo, hi in zip(names, low, high, strict=True)},
        ci_level=level, method=method, log_likelihood=-nll, n_trials=int(counts.sum()),
        converged=converged, lapse=lapse, bootstrap=boot,
    )


def _normal_quantile(q: float) -> float:
    """Standard normal quantile (``statistics.NormalDist``)."""
    from statistics import NormalDist

    return float(NormalDist().inv_cdf(q))


# --------------------------------------------------------------------------- plot
def _wilson(k: np.ndarray, n: np.ndarray, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    p = k / n
    denom = 1.0 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def plot_psychometric(
    data: ChoiceData | tuple[Any, Any] | tuple[Any, Any, Any],
    fit: PsychometricFit | None = None,
    *,
    ax: Any = None,
    color: str = "black",
    label: str | None = None,
    percent: bool = True,
) -> Any:
    """Plot choice probabilities per signed coherence, with the fitted curve if given.

    Error bars are 95% Wilson intervals of each level's proportion (when counts are known).

    Args:
        data: A :class:`ChoiceData`, or ``(signed_coherence, p_choice)`` or
            ``(signed_coherence, p_choice, n)``.
        fit: A :class:`PsychometricFit` to draw as a line (its parameters go in the legend).
        ax: Axes to draw into; a new figure when ``None``.
        color: Colour of points and curve.
        label: Legend label of the points.
        percent: Show the y axis in percent (the paper's style) instead of a probability.

    Returns:
        The matplotlib Figure.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On shapes that do not fit.
    """
    owner = "plot_psychometric"
    channel = None
    if isinstance(data, ChoiceData):
        x, p, n = data.levels, data.p_choice, data.n_trials.astype(np.float64)
        channel = data.channel
    elif isinstance(data, tuple) and len(data) in (2, 3):
        x = v.array(data[0], "data[0] (signed coherence)", owner, ndim=1)
        p = v.array(data[1], "data[1] (p_choice)", owner, shape=x.shape,
                    expected=f"the shape of data[0] {x.shape}")
        n = None if len(data) == 2 else v.array(data[2], "data[2] (n)", owner, shape=x.shape,
                                                expected=f"the shape of data[0] {x.shape}")
    else:
        raise TypeError(
            f"{owner}: data must be a ChoiceData or a tuple (x, p) or (x, p, n); "
            f"received {describe(data)}"
        )
    if fit is not None and not isinstance(fit, PsychometricFit):
        raise TypeError(f"{owner}: fit must be a PsychometricFit or None; received {describe(fit)}")
    ax = v.axes(ax, owner, figsize=(4.4, 4.0))
    scale = 100.0 if percent else 1.0
    if n is not None and np.all(n > 0):
        lo, hi = _wilson(p * n, n)
        err = np.clip([(p - lo) * scale, (hi - p) * scale], 0.0, None)
        ax.errorbar(x, p * scale, yerr=err, fmt="o",
                    color=color, ms=4, capsize=2, lw=1, label=label or "network")
    else:
        ax.plot(x, p * scale, "o", color=color, ms=4, label=label or "network")
    if fit is not None:
        span = max(float(np.ptp(x)), 1e-9)
        grid = np.linspace(x.min() - 0.05 * span, x.max() + 0.05 * span, 400)
        text = ", ".join(f"{k} {val:.3g}" for k, val in fit.params.items())
        ax.plot(grid, fit(grid) * scale, "-", color=color, lw=1.5, alpha=0.8,
                label=f"{fit.kind}: {text}")
    ax.axhline(0.5 * scale, color="0.7", lw=0.8, ls=":")
    ax.axvline(0.0, color="0.7", lw=0.8, ls=":")
    which = "" if channel is None else f" {channel}"
    ax.set(xlabel="signed coherence",
           ylabel=f"{'% ' if percent else 'P '}choice{which}",
           ylim=(-0.03 * scale, 1.03 * scale))
    # below the axes: a legend inside would cover the curve or its error bars somewhere
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16),
              ncols=2)
    return ax.figure


__all__ = [
    "ChoiceData",
    "PsychometricFit",
    "choice_probabilities",
    "fit_psychometric",
    "plot_psychometric",
    "signed_coherence",
]
