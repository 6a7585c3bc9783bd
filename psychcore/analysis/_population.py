"""Population dynamics: condition averages, PCA of trajectories, and their plots.

The fixed-point search (:mod:`psychcore.analysis._fixed_points`) sits above this module: its
points project onto a :class:`PCAResult`. Trajectory plots overlay fixed points through what
they provide (:class:`_FixedPointsLike`), without importing the search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._checks import describe
from . import _validate as v


@dataclass(frozen=True)
class ConditionAverages:
    """Trial-averaged activity per condition (what :func:`condition_averages` returns).

    Attributes:
        conditions: The condition labels, sorted, shape ``(n_conditions,)``.
        averages: Mean activity per condition, ``(n_conditions, N_steps, N_units)``.
        counts: Number of trials averaged per condition.
    """

    conditions: np.ndarray
    averages: np.ndarray
    counts: np.ndarray


def condition_averages(
    states: Any, conditions: Any, mask_trials: Any = None
) -> ConditionAverages:
    """Average trials by condition, optionally over a subset of trials (e.g. correct ones).

    Args:
        states: Activity per trial, ``(N_batch, N_steps, N_units)`` (states or rates).
        conditions: A label per trial, shape ``(N_batch,)`` (numbers, e.g. signed coherence,
            or strings).
        mask_trials: Boolean ``(N_batch,)``: only these trials are averaged (e.g. the result
            of :func:`correct_trials`); all trials when ``None``.

    Returns:
        A :class:`ConditionAverages`; conditions left with no trial are dropped.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On lengths that differ from ``N_batch`` or when no trial is left.
    """
    owner = "condition_averages"
    x = v.array(states, "states", owner, ndim=3, expected="shape (N_batch, N_steps, N_units)")
    labels = _labels(conditions, "conditions", owner, x.shape[0])
    keep = np.ones(x.shape[0], dtype=bool)
    if mask_trials is not None:
        keep = _trial_mask(mask_trials, owner, x.shape[0])
    if not keep.any():
        raise ValueError(f"{owner}: mask_trials selects no trial")
    uniq, index = np.unique(labels[keep], return_inverse=True)
    sums = np.zeros((uniq.size,) + x.shape[1:])
    np.add.at(sums, index, x[keep])
    counts = np.bincount(index, minlength=uniq.size)
    return ConditionAverages(conditions=uniq, averages=sums / counts[:, None, None],
                             counts=counts.astype(np.int64))


def _labels(conditions: Any, name: str, owner: str, n: int) -> np.ndarray:
    if isinstance(conditions, str | bytes) or conditions is None:
        raise TypeError(f"{owner}: {name} must be a 1-D array of labels; "
                        f"received {describe(conditions)}")
    labels = np.asarray(conditions)
    if labels.dtype == object:
        raise TypeError(f"{owner}: {name} must be numbers or strings (one per trial); "
                        "received an object array")
    if labels.shape != (n,):
        raise ValueError(f"{owner}: {name} must have shape (N_batch,) = ({n},); "
                         f"received shape {labels.shape}")
    return labels


def _trial_mask(mask_trials: Any, owner: str, n: int) -> np.ndarray:
    m = np.asarray(mask_trials)
    if m.dtype != np.bool_:
        raise TypeError(f"{owner}: mask_trials must be a boolean array of shape ({n},); "
                        f"received {describe(mask_trials)}")
    if m.shape != (n,):
        raise ValueError(f"{owner}: mask_trials must have shape (N_batch,) = ({n},); "
                         f"received shape {m.shape}")
    return m


@dataclass(frozen=True)
class PCAResult:
    """Principal components of a set of activity vectors (what :func:`pca` returns).

    Attributes:
        components: Orthonormal principal axes as rows, ``(n_components, N_units)``, each
            signed so that its largest-magnitude loading is positive.
        explained_variance: Variance along each component.
        explained_variance_ratio: That variance as a fraction of the total variance (all
            components, not only the kept ones).
        mean: The mean activity subtracted before projecting, ``(N_units,)``.
        projections: The input projected on the components, ``(..., n_components)`` with the
            leading shape of the input.
    """

    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    mean: np.ndarray
    projections: np.ndarray

    @property
    def n_components(self) -> int:
        """Number of components kept."""
        return int(self.components.shape[0])

    def transform(self, activity: Any) -> np.ndarray:
        """Project other activity (``(..., N_units)``, e.g. fixed points) on the components.

        Raises:
            ValueError: If the last axis is not ``N_units``.
        """
        a = v.array(activity, "activity", "PCAResult.transform", ndim=(1, 2, 3, 4),
                    expected=f"shape (..., N_units={self.mean.size})")
        if a.shape[-1] != self.mean.size:
            raise ValueError(
                f"PCAResult.transform: activity must have shape (..., N_units={self.mean.size}); "
                f"received shape {a.shape}"
            )
        return (a - self.mean) @ self.components.T


def pca(trajectories: Any, n_components: int | None = None) -> PCAResult:
    """Principal component analysis of activity vectors (NumPy SVD).

    Every index but the last is a sample: condition-averaged trajectories
    ``(n_conditions, N_steps, N_units)`` are concatenated over conditions and time, as in the
    paper's Figure 2D.

    Args:
        trajectories: Activity of shape ``(..., N_units)`` with at least 2 samples.
        n_components: Components to keep (at most ``min(n_samples, N_units)``); all by
            default.

    Returns:
        A :class:`PCAResult`.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On fewer than 2 samples or too many components.
    """
    owner = "pca"
    a = v.array(trajectories, "trajectories", owner, ndim=(2, 3, 4),
                expected="shape (..., N_units) with 2 to 4 dimensions")
    samples = a.reshape(-1, a.shape[-1])
    if samples.shape[0] < 2:
        raise ValueError(f"{owner}: trajectories must hold at least 2 samples; received "
                         f"shape {a.shape}")
    most = min(samples.shape)
    k = most if n_components is None else v.integer(n_components, "n_components", owner)
    if k > most:
        raise ValueError(f"{owner}: n_components must be <= min(n_samples, N_units) = {most}; "
                         f"received {k}")
    mean = samples.mean(axis=0)
    _, s, vt = np.linalg.svd(samples - mean, full_matrices=False)
    variance = s**2 / (samples.shape[0] - 1)
    total = variance.sum()
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    ratio = variance[:k] / total if total > 0 else np.zeros(k)
    proj = (a - mean) @ comps.T
    return PCAResult(components=comps, explained_variance=variance[:k],
                     explained_variance_ratio=ratio, mean=mean, projections=proj)


# --------------------------------------------------------------------------- colours
def condition_colors(conditions: Any, cmap: str | None = None) -> list[Any]:
    """One colour per condition label.

    Numeric labels of both signs (e.g. signed coherence) use a diverging map centred at 0
    (``"coolwarm"``); other numeric labels a sequential map (``"viridis"``) by value; strings
    the ``"tab10"`` cycle.

    Args:
        conditions: 1-D labels.
        cmap: Matplotlib colormap name to use instead.

    Returns:
        A list of RGBA tuples.
    """
    v.pyplot()
    import matplotlib

    labels = np.asarray(conditions).reshape(-1)
    if labels.dtype.kind in "biuf" and labels.size:
        vals = labels.astype(np.float64)
        if cmap is None and vals.min() < 0 < vals.max():
            lim = float(np.abs(vals).max())
            norm = (vals / lim + 1.0) / 2.0
            return [matplotlib.colormaps["coolwarm"](t) for t in norm]
        span = float(np.ptp(vals)) or 1.0
        norm = (vals - vals.min()) / span
        return [matplotlib.colormaps[cmap or "viridis"](0.05 + 0.9 * t) for t in norm]
    cycle = matplotlib.colormaps[cmap or "tab10"]
    return [cycle(i % 10) for i in range(labels.size)]


def _label_text(label: Any) -> str:
    if isinstance(label, float | np.floating):
        return f"{label + 0.0:.3g}"  # + 0.0 turns -0.0 into 0.0
    return str(label)


# --------------------------------------------------------------------------- plots
def plot_pca_trajectories(
    result: PCAResult,
    conditions: Any = None,
    *,
    dims: int = 2,
    ax: Any = None,
    cmap: str | None = None,
    fixed_points: Any = None,
    legend: bool = True,
    legend_title: str = "condition",
) -> Any:
    """Trajectories in the top 2 or 3 principal components, one line per condition.

    A circle marks each trajectory's start, a square its end. Fixed points (a
    :class:`FixedPoints`) are projected on the same components: filled black dots are
    stable, open red circles unstable or saddle, grey crosses slow points.

    Args:
        result: The :class:`PCAResult` of condition-averaged trajectories, whose
            ``projections`` have shape ``(n_conditions, N_steps, n_components)``.
        conditions: A label per condition, for colours and the legend.
        dims: 2 or 3 components.
        ax: Axes to draw into (a 3-D axes for ``dims=3``); a new figure when ``None``.
        cmap: Colormap name (see :func:`condition_colors`).
        fixed_points: A :class:`FixedPoints` to overlay, or ``None``.
        legend: Draw a legend of conditions (for up to 12 conditions).
        legend_title: Title of the legend.

    Returns:
        The matplotlib Figure.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: If ``dims`` is not 2 or 3, the result has too few components, or the
            number of labels differs from the number of trajectories.
    """
    owner = "plot_pca_trajectories"
    if not isinstance(result, PCAResult):
        raise TypeError(f"{owner}: result must be a PCAResult; received {describe(result)}")
    dims = v.integer(dims, "dims", owner, minimum=2)
    if dims > 3:
        raise ValueError(f"{owner}: dims must be 2 or 3; received {dims}")
    if result.n_components < dims:
        raise ValueError(f"{owner}: the PCA has {result.n_components} components; "
                         f"dims={dims} needs at least {dims}")
    proj = result.projections
    if proj.ndim == 2:
        proj = proj[np.newaxis]
    if proj.ndim != 3:
        raise ValueError(f"{owner}: result.projections must be (n_conditions, N_steps, "
                         f"n_components); received shape {proj.shape}")
    labels = (np.arange(proj.shape[0]) if conditions is None
              else _labels(conditions, "conditions", owner, proj.shape[0]))
    ax = v.axes(ax, owner, figsize=(5.6, 4.2) if dims == 2 else (6.0, 4.6),
                projection="3d" if dims == 3 else None)
    colors = condition_colors(labels, cmap)
    for traj, color, label in zip(proj, colors, labels, strict=True):
        coords = [traj[:, i] for i in range(dims)]
        ax.plot(*coords, color=color, lw=1.5, label=_label_text(label))
        ax.plot(*[c[:1] for c in coords], "o", color=color, ms=4)
        ax.plot(*[c[-1:] for c in coords], "s", color=color, ms=4)
    if fixed_points is not None:
        if not isinstance(fixed_points, _FixedPointsLike):
            raise TypeError(f"{owner}: fixed_points must be a FixedPoints or None; "
                            f"received {describe(fixed_points)}")
        _overlay_fixed_points(ax, fixed_points, result, dims)
    pct = 100 * result.explained_variance_ratio
    names = [f"PC{i + 1} ({pct[i]:.0f}%)" for i in range(dims)]
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    if dims == 3:
        ax.set_zlabel(names[2])
    if legend and len(labels) <= 12:  # beside the axes, where it covers no trajectory
        ax.legend(fontsize=7, frameon=False, title=legend_title, title_fontsize=7,
                  loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return ax.figure


def condition_colorbar(ax: Any, conditions: Any, *, cmap: str | None = None,
                       label: str = "condition") -> Any:
    """A colour bar beside ``ax`` for numeric condition labels, in the colours of
    :func:`condition_colors` (the same map and scale), ticked at the labels.

    Args:
        ax: The axes whose lines are coloured by condition.
        conditions: The labels the colours were chosen from.
        cmap: The colormap name given to :func:`condition_colors`.
        label: The colour bar's label.

    Returns:
        The Colorbar, or None for non-numeric labels (a legend explains those).
    """
    v.pyplot()
    import matplotlib
    from matplotlib.colors import ListedColormap, Normalize

    labels = np.asarray(conditions).reshape(-1)
    if labels.dtype.kind not in "biuf" or not labels.size:
        return None
    vals = labels.astype(np.float64)
    if cmap is None and vals.min() < 0 < vals.max():
        lim = float(np.abs(vals).max())
        mapping, norm = matplotlib.colormaps["coolwarm"], Normalize(-lim, lim)
    else:
        base = matplotlib.colormaps[cmap or "viridis"]
        mapping = ListedColormap(base(np.linspace(0.05, 0.95, 256)))
        low, high = float(vals.min()), float(vals.max())
        norm = Normalize(low, high if high > low else low + 1.0)
    bar = ax.figure.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=mapping), ax=ax,
                             shrink=0.85, pad=0.02)
    ticks = np.unique(vals)
    if ticks.size > 7:  # every other label, the extremes kept
        ticks = np.unique(np.r_[ticks[::2], ticks[-1]])
    bar.set_ticks(ticks, labels=[_label_text(float(t)) for t in ticks])
    bar.ax.tick_params(labelsize=7)
    bar.set_label(label, fontsize=8)
    return bar


@runtime_checkable
class _FixedPointsLike(Protocol):
    """What :func:`plot_pca_trajectories` overlays: a :class:`FixedPoints` (or alike)."""

    is_fixed: np.ndarray
    stable: np.ndarray

    def __len__(self) -> int: ...

    def project(self, pca_result: PCAResult) -> np.ndarray: ...


def _overlay_fixed_points(ax: Any, fps: _FixedPointsLike, result: PCAResult, dims: int
                          ) -> None:
    if len(fps) == 0:
        return
    p = fps.project(result)[:, :dims]
    styles = [
        (fps.is_fixed & fps.stable, dict(marker="o", color="black", ms=7, ls="none"),
         "stable fixed point"),
        (fps.is_fixed & ~fps.stable, dict(marker="o", mfc="white", mec="red", mew=1.5, ms=7,
                                          ls="none"), "unstable fixed point"),
        (~fps.is_fixed, dict(marker="x", color="0.4", ms=6, ls="none"), "slow point"),
    ]
    for select, style, label in styles:
        if np.any(select):
            ax.plot(*[p[select, i] for i in range(dims)], label=label, zorder=5, **style)


def plot_unit_traces(
    activity: Any,
    conditions: Any = None,
    units: Any = None,
    *,
    mask_trials: Any = None,
    dt: float | None = None,
    cmap: str | None = None,
    ncols: int = 4,
    legend_title: str = "condition",
) -> Any:
    """Activity of chosen units over time, averaged per condition, one panel per unit.

    Args:
        activity: Per-trial activity ``(N_batch, N_steps, N_units)`` (states or rates) with
            ``conditions``, or a :class:`ConditionAverages` (then ``conditions`` and
            ``mask_trials`` must be ``None``).
        conditions: A label per trial, ``(N_batch,)``.
        units: Unit indices; the first ``min(8, N_units)`` units by default.
        mask_trials: Boolean ``(N_batch,)`` selecting the trials to average (e.g. correct).
        dt: Time step in ms for the x axis (steps when ``None``).
        cmap: Colormap name (see :func:`condition_colors`).
        ncols: Panels per row.
        legend_title: Title of the legend of conditions.

    Returns:
        The matplotlib Figure.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On shapes that do not fit or unit indices out of range.
    """
    owner = "plot_unit_traces"
    if isinstance(activity, ConditionAverages):
        if conditions is not None or mask_trials is not None:
            raise ValueError(f"{owner}: with a ConditionAverages, conditions and mask_trials "
                             "must be None")
        avg = activity
    else:
        if conditions is None:
            raise ValueError(f"{owner}: conditions (one label per trial) are required with "
                             "per-trial activity")
        avg = condition_averages(activity, conditions, mask_trials)
    n_units = avg.averages.shape[2]
    chosen = (np.arange(min(8, n_units)) if units is None
              else v.units(units, "units", owner, n_units))
    ncols = min(v.integer(ncols, "ncols", owner), chosen.size)
    step = 1.0 if dt is None else v.real(dt, "dt", owner, low=0.0, low_open=True)
    nrows = int(np.ceil(chosen.size / ncols))
    plt = v.pyplot()
    fig, axs = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.0 * nrows + 0.4),
                            sharex=True, squeeze=False, layout="constrained")
    t = np.arange(avg.averages.shape[1]) * step
    colors = condition_colors(avg.conditions, cmap)
    for i, unit in enumerate(chosen):
        ax = axs.flat[i]
        for trace, color, label in zip(avg.averages[:, :, unit], colors, avg.conditions,
                                       strict=True):
            ax.plot(t, trace, color=color, lw=1.2, label=_label_text(label))
        ax.set_title(f"unit {unit}", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axs.flat)[chosen.size:]:
        ax.set_visible(False)
    for ax in axs[-1]:
        ax.set_xlabel("time (ms)" if dt is not None else "step", fontsize=8)
    if len(avg.conditions) <= 12:
        handles, names = axs.flat[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside right center", fontsize=7, frameon=False,
                   title=legend_title, title_fontsize=7)
    return fig
