"""Weight plots (E red, I blue, absent blank) and the eigenvalue spectrum of W_rec_eff."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from psychcore import ModelSpec, initialize_weights
from psychcore.analysis import eigenvalue_spectrum, plot_spectrum, plot_weights, unit_types

plt = pytest.importorskip("matplotlib.pyplot")


def dale_weights(seed=0, n_rec=10):
    spec = ModelSpec(N_rec=n_rec, dale_ratio=0.8, autapses=False)
    return initialize_weights(spec, rng=seed, N_in=2, N_out=2)


def image_of(fig, title_start):
    ax = next(a for a in fig.axes if a.get_title().startswith(title_start))
    return ax.images[0]


def test_unit_types_and_spectrum_of_the_effective_matrix():
    w = dale_weights()
    assert_array_equal(unit_types(w), [1] * 8 + [-1] * 2)
    eff = np.abs(w["W_rec"]) * w["rec_connectivity"] * np.diag(w["Dale_rec"])[None, :]
    eig = eigenvalue_spectrum(w)
    assert eig.shape == (10,) and np.all(np.diff(np.abs(eig)) <= 1e-12)
    assert_allclose(np.sort_complex(eig), np.sort_complex(np.linalg.eigvals(eff)), atol=1e-10)
    # the initialiser scales the effective matrix to spectral radius 1.1 (its default)
    assert_allclose(np.abs(eig[0]), 1.1, rtol=1e-5)
    no_dale = initialize_weights(ModelSpec(N_rec=6), rng=1, N_in=1, N_out=1)
    assert_array_equal(unit_types(no_dale), np.zeros(6))


def test_spectrum_errors():
    with pytest.raises(ValueError, match=r"must be square \(N_rec, N_rec\)"):
        eigenvalue_spectrum({"W_rec": np.zeros((8, 4))})
    with pytest.raises(TypeError, match="weights must be a dict of arrays"):
        eigenvalue_spectrum(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"must have the key\(s\) \['W_rec'\]"):
        eigenvalue_spectrum({})


def test_plot_weights_colours_excitatory_red_inhibitory_blue_and_blanks_absent_entries():
    w = dale_weights()
    conn = w["rec_connectivity"].copy()
    conn[0, 5] = 0.0  # one more masked entry besides the diagonal
    w["rec_connectivity"] = conn
    fig = plot_weights(w)
    rec = image_of(fig, "W_rec")
    shown = np.ma.getdata(rec.get_array()).astype(float)
    hidden = np.ma.getmaskarray(rec.get_array())
    assert_array_equal(hidden, conn == 0)  # masked entries blank (diagonal and [0, 5])
    assert np.all(np.isnan(shown[conn == 0]))
    assert np.all(shown[:, :8][~hidden[:, :8]] >= 0)
    assert np.all(shown[:, 8:][~hidden[:, 8:]] <= 0)
    rgba = rec.to_rgba(rec.get_array())
    strong_e = np.unravel_index(np.nanargmax(np.where(hidden, np.nan, shown)), shown.shape)
    strong_i = np.unravel_index(np.nanargmin(np.where(hidden, np.nan, shown)), shown.shape)
    assert strong_e[1] < 8 and strong_i[1] >= 8
    r, g, b, _ = rgba[strong_e]
    assert r == 1.0 and g == b < 0.9  # a shade of red
    r, g, b, _ = rgba[strong_i]
    assert b == 1.0 and r < 0.1  # the strongest inhibitory weight: full blue
    assert tuple(rgba[0, 0]) == (1.0, 1.0, 1.0, 1.0)  # blank = white
    out = image_of(fig, "W_out")
    assert np.all(np.ma.getmaskarray(out.get_array())[:, 8:])  # I units never reach the output
    assert len([a for a in fig.axes if a.images]) == 3
    plt.close(fig)


def test_plot_weights_without_dale_and_a_subset():
    w = initialize_weights(ModelSpec(N_rec=6), rng=1, N_in=1, N_out=1)
    fig = plot_weights(w, ["W_rec"])
    rec = image_of(fig, "W_rec")
    assert_allclose(np.ma.getdata(rec.get_array()), w["W_rec"], rtol=1e-6)
    assert len([a for a in fig.axes if a.images]) == 1
    plt.close(fig)
    with pytest.raises(ValueError, match="matrices.* must be one of"):
        plot_weights(w, ["W_bad"])
    with pytest.raises(TypeError, match="matrices must be a non-empty sequence"):
        plot_weights(w, "W_rec")
    with pytest.raises(ValueError, match=r"must have the key\(s\)"):
        plot_weights({"W_rec": w["W_rec"]})


def test_connectivity_shape_errors():
    w = dale_weights()
    bad = dict(w, rec_connectivity=np.ones((4, 4)))
    with pytest.raises(ValueError, match=r"weights\['rec_connectivity'\] has shape \(4, 4\); "
                                         r"expected \(10, 10\)"):
        plot_weights(bad)
    with pytest.raises(ValueError, match=r"weights\['rec_connectivity'\] has shape \(4, 4\)"):
        eigenvalue_spectrum(bad)
    with pytest.raises(ValueError, match=r"weights\['W_rec'\] must have 2-D"):
        eigenvalue_spectrum({"W_rec": np.zeros(3)})


def test_plot_spectrum_draws_the_unit_circle_and_the_eigenvalues():
    w = dale_weights()
    fig = plot_spectrum(w)
    circle, points = fig.axes[0].get_lines()[:2]
    assert_allclose(np.hypot(circle.get_xdata(), circle.get_ydata()), 1.0)
    eig = eigenvalue_spectrum(w)
    assert_allclose(points.get_xdata(), eig.real)
    assert_allclose(points.get_ydata(), eig.imag)
    plt.close(fig)
    plt.close(plot_spectrum(np.array([0.5 + 0.5j, -0.2])))
    with pytest.raises(ValueError, match="weights_or_eigenvalues must have"):
        plot_spectrum(np.zeros((2, 2)))
