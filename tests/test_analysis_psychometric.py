"""Choices, choice probabilities and psychometric fits on synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from psychcore.analysis import (
    ChoiceData,
    PsychometricFit,
    choice_probabilities,
    choices,
    correct_trials,
    fit_psychometric,
    plot_psychometric,
    plot_trial,
    signed_coherence,
)

pytest.importorskip("scipy")

LEVELS = np.linspace(-0.4, 0.4, 9)


def logistic(x, bias, slope, lapse=0.0):
    return lapse + (1 - 2 * lapse) / (1 + np.exp(-slope * (x - bias)))


def simulate_counts(p, n, seed):
    return np.random.default_rng(seed).binomial(n, p)


# ----------------------------------------------------------------------------- choices
def outputs_choosing(chosen, n_steps=6, n_out=2):
    """Outputs whose masked mean is highest on channel ``chosen[i]``; junk where mask is 0."""
    out = np.zeros((len(chosen), n_steps, n_out))
    mask = np.zeros_like(out)
    mask[:, n_steps // 2:] = 1.0
    for i, c in enumerate(chosen):
        out[i, n_steps // 2:, c] = 1.0
        out[i, : n_steps // 2, (c + 1) % n_out] = 50.0  # unmasked: must be ignored
    return out, mask


def test_choices_use_masked_means_only():
    out, mask = outputs_choosing([0, 1, 1, 0])
    assert_array_equal(choices(out, mask), [0, 1, 1, 0])
    # without a mask the large unmasked values win
    assert_array_equal(choices(out), [1, 0, 0, 1])
    mask[2] = 0.0
    assert choices(out, mask)[2] == -1


def test_correct_trials_compares_with_the_target_choice():
    y, mask = outputs_choosing([0, 1, 1, 0])
    out, _ = outputs_choosing([0, 0, 1, 1])
    assert_array_equal(correct_trials(y, out, mask), [True, False, True, False])


def test_choices_shape_errors():
    with pytest.raises(ValueError, match="at least 2 output channels"):
        choices(np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match="mask must have the shape of outputs"):
        choices(np.zeros((2, 3, 2)), np.zeros((2, 3, 3)))
    with pytest.raises(TypeError, match="outputs must be a numeric array"):
        choices("outputs")
    with pytest.raises(ValueError, match=r"y must have the shape of outputs \(2, 3, 2\)"):
        correct_trials(np.zeros((2, 4, 2)), np.zeros((2, 3, 2)), np.zeros((2, 3, 2)))


# ----------------------------------------------------------------------------- counting
def test_signed_coherence_from_trial_params():
    params = np.array([{"coherence": 0.2, "direction": 1}, {"coherence": 0.1, "direction": 0},
                       {"coherence": 0.0, "direction": 0}], dtype=object)
    assert_allclose(signed_coherence(params), [0.2, -0.1, 0.0])
    assert_allclose(signed_coherence(params, channel=0), [-0.2, 0.1, 0.0])
    assert_allclose(signed_coherence({"coherence": [0.3, 0.4], "direction": [0, 1]}),
                    [-0.3, 0.4])
    with pytest.raises(ValueError, match="has no 'coherence' or 'direction'"):
        signed_coherence([{"coherence": 0.1}])
    with pytest.raises(TypeError, match="trial_params must be a sequence of dicts"):
        signed_coherence(3.0)
    with pytest.raises(ValueError, match="'coherence' and 'direction' must have the same length"):
        signed_coherence({"coherence": [0.1, 0.2], "direction": [0]})


def test_choice_probabilities_counts_per_level():
    # levels -0.2 (4 trials, 1 choose 1), 0.1 (2 trials, 2 choose 1), 0.3 (3 trials, 2)
    x = np.array([-0.2, -0.2, -0.2, -0.2, 0.1, 0.1, 0.3, 0.3, 0.3])
    chosen = [1, 0, 0, 0, 1, 1, 1, 0, 1]
    out, mask = outputs_choosing(chosen)
    data = choice_probabilities(out, x, mask)
    assert isinstance(data, ChoiceData) and data.channel == 1
    assert_allclose(data.levels, [-0.2, 0.1, 0.3])
    assert_array_equal(data.n_trials, [4, 2, 3])
    assert_array_equal(data.n_chosen, [1, 2, 2])
    assert_allclose(data.p_choice, [0.25, 1.0, 2 / 3])
    other = choice_probabilities(out, x, mask, channel=0)
    assert_allclose(other.p_choice, 1 - data.p_choice)


def test_choice_probabilities_from_trial_params_and_bins():
    params = [{"coherence": c, "direction": d} for c, d in
              [(0.05, 1), (0.05, 0), (0.3, 1), (0.3, 0), (0.31, 1), (0.29, 0)]]
    out, mask = outputs_choosing([1, 0, 1, 0, 1, 1])
    data = choice_probabilities(out, params, mask)
    assert_allclose(data.levels, [-0.3, -0.29, -0.05, 0.05, 0.3, 0.31])
    binned = choice_probabilities(out, params, mask, bins=[-0.5, 0.0, 0.5])
    assert_array_equal(binned.n_trials, [3, 3])
    assert_allclose(binned.levels, [np.mean([-0.3, -0.29, -0.05]), np.mean([0.05, 0.3, 0.31])])
    assert_allclose(binned.p_choice, [1 / 3, 1.0])
    quantiles = choice_probabilities(out, params, mask, bins=2)
    assert_array_equal(quantiles.n_trials, [3, 3])


def test_choice_probabilities_errors():
    out, mask = outputs_choosing([0, 1])
    with pytest.raises(ValueError, match=r"conditions must have shape \(N_batch,\) = \(2,\)"):
        choice_probabilities(out, np.zeros(3), mask)
    with pytest.raises(ValueError, match=r"channel must be an output channel in \[0, 2\)"):
        choice_probabilities(out, np.zeros(2), mask, channel=2)
    with pytest.raises(ValueError, match="bins must be at least 2 strictly increasing"):
        choice_probabilities(out, np.zeros(2), mask, bins=[0.5, 0.1])
    with pytest.raises(ValueError, match="no trial has a masked step"):
        choice_probabilities(out, np.zeros(2), np.zeros_like(mask))


# ----------------------------------------------------------------------------- fits
def test_logistic_fit_recovers_parameters_within_their_intervals():
    n = np.full(LEVELS.size, 400)
    k = simulate_counts(logistic(LEVELS, 0.05, 12.0), n, seed=3)
    fit = fit_psychometric(LEVELS, k / n, n)
    assert isinstance(fit, PsychometricFit) and fit.converged and fit.n_trials == n.sum()
    for name, true in (("bias", 0.05), ("slope", 12.0)):
        low, high = fit.ci[name]
        assert low < true < high, (name, fit.ci[name])
        assert abs(fit.params[name] - true) < 3 * fit.stderr[name]
    assert fit.stderr["bias"] < 0.01 and fit.stderr["slope"] < 1.0
    # the fitted curve is callable, shape-preserving and passes 1/2 at the bias
    assert_allclose(fit(np.array([fit.params["bias"]])), [0.5])
    grid = np.linspace(-1, 1, 12).reshape(3, 4)
    assert fit(grid).shape == (3, 4)
    assert_allclose(fit.curve(grid), logistic(grid, fit.params["bias"], fit.params["slope"]))


def test_logistic_intervals_cover_the_truth_at_about_the_nominal_rate():
    n = np.full(LEVELS.size, 200)
    p = logistic(LEVELS, -0.03, 8.0)
    hits = np.zeros(2)
    for seed in range(40):
        fit = fit_psychometric(LEVELS, simulate_counts(p, n, seed) / n, n)
        hits += [fit.ci["bias"][0] < -0.03 < fit.ci["bias"][1],
                 fit.ci["slope"][0] < 8.0 < fit.ci["slope"][1]]
    assert np.all(hits >= 33), hits  # 95% intervals: expect ~38 of 40


def test_fit_of_exact_proportions_is_exact():
    n = np.full(LEVELS.size, 10**6)
    fit = fit_psychometric(LEVELS, logistic(LEVELS, 0.1, 6.0, 0.04), n, lapse=True)
    assert_allclose([fit.params["bias"], fit.params["slope"], fit.params["lapse"]],
                    [0.1, 6.0, 0.04], rtol=1e-4, atol=1e-5)


def test_lapse_fit_recovers_the_lapse_rate():
    x = np.linspace(-0.5, 0.5, 11)
    n = np.full(x.size, 2000)
    k = simulate_counts(logistic(x, 0.0, 15.0, lapse=0.08), n, seed=1)
    fit = fit_psychometric(x, k / n, n, lapse=True)
    assert fit.ci["lapse"][0] < 0.08 < fit.ci["lapse"][1]
    assert abs(fit.params["slope"] - 15.0) < 3 * fit.stderr["slope"]
    no_lapse = fit_psychometric(x, k / n, n)
    assert "lapse" not in no_lapse.params
    assert fit.log_likelihood > no_lapse.log_likelihood + 10  # the lapse model fits better


def test_weibull_fit_recovers_threshold_and_shape():
    def weibull(x, bias, threshold, shape):
        d = x - bias
        return 0.5 + 0.5 * np.sign(d) * (1 - np.exp(-((np.abs(d) / threshold) ** shape)))

    x = np.linspace(-0.5, 0.5, 13)
    n = np.full(x.size, 1500)
    k = simulate_counts(weibull(x, 0.02, 0.15, 1.8), n, seed=5)
    fit = fit_psychometric(x, k / n, n, kind="weibull")
    for name, true in (("bias", 0.02), ("threshold", 0.15), ("shape", 1.8)):
        assert fit.ci[name][0] < true < fit.ci[name][1], (name, fit.params, fit.ci)
    assert_allclose(fit(np.array([0.02 + fit.params["threshold"]])), [0.5 + 0.5 * (1 - np.e**-1)],
                    atol=0.01)


def test_bootstrap_intervals_agree_with_hessian_intervals():
    n = np.full(LEVELS.size, 300)
    k = simulate_counts(logistic(LEVELS, 0.05, 10.0), n, seed=7)
    hess = fit_psychometric(LEVELS, k / n, n)
    boot = fit_psychometric(LEVELS, k / n, n, method="bootstrap", n_bootstrap=50, rng=0)
    assert boot.bootstrap.shape == (50, 2) and boot.method == "bootstrap"
    assert boot.params == hess.params  # same point estimate
    for name in ("bias", "slope"):
        assert_allclose(boot.stderr[name], hess.stderr[name], rtol=0.35)
    again = fit_psychometric(LEVELS, k / n, n, method="bootstrap", n_bootstrap=50, rng=0)
    assert again.ci == boot.ci  # seeded


def test_per_trial_choices_fit_like_counts():
    rng = np.random.default_rng(0)
    x = np.repeat(LEVELS, 50)
    choice = (rng.random(x.size) < logistic(x, 0.0, 10.0)).astype(float)
    per_trial = fit_psychometric(x, choice)
    counts = np.array([choice[x == lv].sum() for lv in LEVELS])
    grouped = fit_psychometric(LEVELS, counts / 50, np.full(LEVELS.size, 50))
    assert_allclose(per_trial.params["slope"], grouped.params["slope"], rtol=1e-4)
    assert_allclose(per_trial.stderr["slope"], grouped.stderr["slope"], rtol=1e-3)


def test_fit_errors_name_the_argument():
    p, n = np.full(9, 0.5), np.full(9, 10)
    with pytest.raises(ValueError, match=r"p_choice must have the shape of signed_coherence"):
        fit_psychometric(LEVELS, p[:5], n)
    with pytest.raises(ValueError, match=r"n must have the shape of signed_coherence"):
        fit_psychometric(LEVELS, p, n[:3])
    with pytest.raises(ValueError, match=r"p_choice must lie in \[0, 1\]"):
        fit_psychometric(LEVELS, p + 1, n)
    with pytest.raises(ValueError, match="kind must be one of"):
        fit_psychometric(LEVELS, p, n, kind="probit")
    with pytest.raises(ValueError, match="without n, p_choice must hold per-trial choices"):
        fit_psychometric(LEVELS, p)
    with pytest.raises(ValueError, match="needs at least 3 distinct levels"):
        fit_psychometric(np.array([0.1, 0.2]), np.array([0.4, 0.6]), np.array([5, 5]),
                         lapse=True)
    with pytest.raises(TypeError, match="lapse must be a bool"):
        fit_psychometric(LEVELS, p, n, lapse="yes")
    with pytest.raises(ValueError, match=r"ci must be a finite number > 0 and < 1"):
        fit_psychometric(LEVELS, p, n, ci=95)
    with pytest.raises(ValueError, match="n must hold whole numbers"):
        fit_psychometric(LEVELS, p, n + 0.5)


# ----------------------------------------------------------------------------- plots
def test_plot_psychometric_draws_points_and_curve():
    n = np.full(LEVELS.size, 100)
    k = simulate_counts(logistic(LEVELS, 0.0, 10.0), n, seed=0)
    data = ChoiceData(LEVELS, k / n, k, n, 1)
    fig = plot_psychometric(data, fit_psychometric(LEVELS, k / n, n))
    ax = fig.axes[0]
    curve = [line for line in ax.get_lines() if len(line.get_xdata()) == 400]
    assert len(curve) == 1 and np.all(np.diff(curve[0].get_ydata()) >= 0)
    assert ax.get_ylabel() == "% choice 1"
    import matplotlib.pyplot as plt

    plt.close(fig)
    fig = plot_psychometric((LEVELS, k / n), percent=False)
    assert fig.axes[0].get_ylim()[1] < 1.1
    plt.close(fig)
    with pytest.raises(TypeError, match="data must be a ChoiceData or a tuple"):
        plot_psychometric([1, 2])
    with pytest.raises(ValueError, match=r"data\[1\] \(p_choice\) must have the shape"):
        plot_psychometric((LEVELS, k[:3] / 100))


def test_plot_trial_panels_and_errors():
    x = np.zeros((2, 10, 2))
    y, mask = outputs_choosing([0, 1], n_steps=10)
    fig = plot_trial(x, y, mask, y, trial=1, dt=10.0, title="t")
    assert [ax.get_ylabel() for ax in fig.axes] == ["input", "target", "output"]
    assert fig.axes[2].get_lines()[1].get_xdata()[-1] == 90.0
    import matplotlib.pyplot as plt

    plt.close(fig)
    with pytest.raises(ValueError, match=r"trial must be in \[0, 2\)"):
        plot_trial(x, y, mask, y, trial=2)
    with pytest.raises(ValueError, match="outputs must have the shape of y"):
        plot_trial(x, y, mask, y[:, :5])
