"""Choices and correct trials from network outputs (the classic tasks' choice rule)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _validate as v


def _outputs_and_mask(
    outputs: Any, mask: Any, owner: str, name: str = "outputs"
) -> tuple[np.ndarray, np.ndarray | None]:
    out = v.array(outputs, name, owner, ndim=3,
                  expected="shape (N_batch, N_steps, N_out)")
    if out.shape[2] < 2:
        raise ValueError(
            f"{owner}: {name} must have at least 2 output channels to choose between; "
            f"received shape {out.shape}"
        )
    if mask is None:
        return out, None
    m = v.array(mask, "mask", owner, shape=out.shape,
                expected=f"the shape of {name} {out.shape}")
    return out, m


def choices(outputs: Any, mask: Any = None) -> np.ndarray:
    """The channel each trial chooses: the output channel with the greatest masked mean.

    This is the rule of the classic tasks' ``accuracy_function``: per trial and channel, the
    mean of the output over the steps where the mask is non-zero; the choice is the channel
    with the greatest mean (a tie goes to the lower channel, as with ``numpy.argmax``).

    Args:
        outputs: Network outputs, shape ``(N_batch, N_steps, N_out)`` with ``N_out >= 2``.
        mask: Output mask of the same shape (the task's), or ``None`` to average over the
            whole trial.

    Returns:
        ``int`` array of shape ``(N_batch,)``: the chosen channel, or ``-1`` for a trial
        without a masked step.

    Raises:
        TypeError: If an argument is not a numeric array.
        ValueError: On shapes that do not fit or non-finite values.
    """
    out, m = _outputs_and_mask(outputs, mask, "choices")
    if m is None:
        return np.argmax(out.mean(axis=1), axis=1)
    weight = (m != 0).astype(np.float64)
    count = weight.sum(axis=1)
    means = np.divide((out * weight).sum(axis=1), count, out=np.zeros_like(count),
                      where=count > 0)
    result = np.argmax(means, axis=1)
    result[~np.any(count > 0, axis=1)] = -1
    return result


def correct_trials(y: Any, outputs: Any, mask: Any) -> np.ndarray:
    """Whether each trial's choice (:func:`choices`) matches the target's choice.

    Args:
        y: Targets, shape ``(N_batch, N_steps, N_out)``.
        outputs: Network outputs of the same shape.
        mask: Output mask of the same shape.

    Returns:
        ``bool`` array of shape ``(N_batch,)`` (``False`` for trials without a masked step).

    Raises:
        TypeError: If an argument is not a numeric array.
        ValueError: On shapes that do not fit.
    """
    out, m = _outputs_and_mask(outputs, mask, "correct_trials")
    target = v.array(y, "y", "correct_trials", shape=out.shape,
                     expected=f"the shape of outputs {out.shape}")
    want, got = choices(target, m), choices(out, m)
    return (want == got) & (want >= 0)


def plot_trial(
    x: Any,
    y: Any,
    mask: Any,
    outputs: Any,
    *,
    trial: int = 0,
    dt: float | None = None,
    title: str | None = None,
) -> Any:
    """One trial's inputs, target and network output, stacked (the paper's Figure 2A).

    Steps where the mask is 0 are shaded grey in the target and output panels.

    Args:
        x: Inputs ``(N_batch, N_steps, N_in)``.
        y: Targets ``(N_batch, N_steps, N_out)``.
        mask: Output mask, the shape of ``y``.
        outputs: Network outputs, the shape of ``y``.
        trial: Index of the trial to show.
        dt: Time step in ms for the x axis (steps when ``None``).
        title: Figure title.

    Returns:
        The matplotlib Figure.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On shapes that do not fit or a trial index out of range.
    """
    owner = "plot_trial"
    xs = v.array(x, "x", owner, ndim=3, expected="shape (N_batch, N_steps, N_in)")
    ys = v.array(y, "y", owner, ndim=3, expected="shape (N_batch, N_steps, N_out)")
    if ys.shape[:2] != xs.shape[:2]:
        raise ValueError(f"{owner}: y must have shape (N_batch, N_steps, N_out) = "
                         f"{xs.shape[:2] + (ys.shape[2],)}; received shape {ys.shape}")
    m = v.array(mask, "mask", owner, shape=ys.shape, expected=f"the shape of y {ys.shape}")
    out = v.array(outputs, "outputs", owner, shape=ys.shape,
                  expected=f"the shape of y {ys.shape}")
    k = v.integer(trial, "trial", owner, minimum=0)
    if k >= xs.shape[0]:
        raise ValueError(f"{owner}: trial must be in [0, {xs.shape[0]}); received {k}")
    step = 1.0 if dt is None else v.real(dt, "dt", owner, low=0.0, low_open=True)
    t = np.arange(xs.shape[1]) * step
    plt = v.pyplot()
    fig, axs = plt.subplots(3, 1, figsize=(6.4, 5.2), sharex=True, layout="constrained")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    masked_out = np.max(m[k], axis=1) == 0
    panels = ((xs[k], "input"), (ys[k], "target"), (out[k], "output"))
    for ax, (data, name) in zip(axs, panels, strict=True):
        for c in range(data.shape[1]):
            ax.plot(t, data[:, c], color=colors[c % len(colors)], lw=1.2, label=f"{name} {c}")
        if name != "input" and masked_out.any():
            ax.fill_between(t, 0, 1, where=masked_out, color="0.9", step="mid",
                            transform=ax.get_xaxis_transform(), zorder=0,
                            label="mask = 0" if name == "target" else None)
        ax.set_ylabel(name)
        # beside the panel, where it covers no trace (one column: any number of channels)
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axs[-1].set_xlabel("time (ms)" if dt is not None else "step")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
