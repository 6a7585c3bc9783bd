"""spikeRNN's network in psychcore terms: :func:`spikernn_to_psychcore` and its structure.

spikeRNN (Kim, Li & Sejnowski, PNAS 2019) trains ``FR_RNN_dale`` and saves it with
``scipy.io.savemat`` (``rate/main.py``). Its forward pass, in psychcore's terms
(docs/equations.md, docs/spiking.md):

- ``x_t = (1 - a) x_{t-1} + a (W_rec_eff sigmoid(x_{t-1}) + w_in u_t) + randn / 10``, the
  noise of a fixed standard deviation 0.1 whatever the time constants:
  ``noise_convention="fixed"``, ``rec_noise=0.1``;
- ``W_rec_eff = (relu(w) @ m) * som_m``: Dale's principle on the recurrent weights only,
  rectified with relu (``Dale(..., rectify="relu")``), ``m`` the diagonal signs
  (``Dale_rec``), ``som_m`` the SOM mask (``rec_connectivity``);
- signed, untrained inputs ``w_in`` (``inputs="signed"``, ``W_in_train=False``) and a signed
  readout from every unit ``o_t = w_out r_t + b_out`` (``readout="all"``);
- per-unit time constants ``tau = taus_min + (taus_max - taus_min) sigmoid(taus_gaus)`` in
  steps of 5 ms: ``tau_raw = taus_gaus``, ``tau_range = 5 * taus`` ms, ``dt = 5`` ms;
- no recurrent bias; the initial state is ``randn / 100``, drawn again for every trial
  (psychcore's ``init_state`` is one vector: zeros here, set it to reproduce a given draw).

The step mapping: spikeRNN's step ``t`` reads ``stim[:, t-1]`` and its outputs are
``o_1 .. o_{T-1}``; psychcore's step ``t`` reads ``u_t``. So psychcore run on
``stim[:, :T-1].T`` from ``init_state = x_0``, with ``noise[t]`` the standard normals of
spikeRNN's step ``t + 1``, returns ``o_1 .. o_{T-1}``.
"""

from __future__ import annotations

import os

import numpy as np

from .._checks import check_float, check_int
from .._constraints import CellTypeRule, Constraint, Dale, InhibitorySubtype
from .._spec import ModelSpec
from ._spikernn_file import SPIKERNN_STEP_S, read_spikernn_mat

__all__ = ["spikernn_constraints", "spikernn_to_psychcore"]

SPIKERNN_NOISE_STD = 0.1
"""spikeRNN's recurrent noise: ``torch.randn(N, 1) / 10`` added to the state each step."""
_OWNER = "spikernn_to_psychcore"


def spikernn_constraints(P_inh: float = 0.2, som_N: int = 0) -> tuple[Constraint, ...]:
    """The structure of spikeRNN's ``FR_RNN_dale``, as psychcore constraints.

    Each unit is inhibitory with probability ``P_inh`` (drawn from the generator handed down);
    the first ``som_N`` inhibitory units (in index order, as spikeRNN takes them) are
    labelled ``"som"`` and receive no connection from inhibitory units (spikeRNN's
    ``som_mask``: SOM units included). Use with ``initializer="spikernn"`` for spikeRNN's
    weights.

    Args:
        P_inh: Probability of a unit to be inhibitory, ``0 <= P_inh < 1``.
        som_N: Number of SOM units (0: none).

    Returns:
        ``(Dale(1 - P_inh, inputs="signed", readout="all", rectify="relu",
        placement="random"),)`` followed, with ``som_N > 0``, by
        ``InhibitorySubtype("som", count=som_N)`` and the two rules that cut the inhibitory
        inputs of SOM units.

    Raises:
        ValueError: If ``P_inh`` is outside ``[0, 1)`` or ``som_N`` negative.
    """
    P_inh = check_float(P_inh, "P_inh", "spikernn_constraints", low=0.0, high=1.0,
                        high_open=True)
    if isinstance(som_N, bool) or not isinstance(som_N, int | np.integer):
        raise TypeError(f"spikernn_constraints: som_N must be an int >= 0; received "
                        f"{type(som_N).__name__}")
    if som_N < 0:
        raise ValueError(f"spikernn_constraints: som_N must be >= 0; received {som_N}")
    out: list[Constraint] = [Dale(1.0 - P_inh, inputs="signed", readout="all", rectify="relu",
                                  placement="random")]
    if som_N:
        out += [InhibitorySubtype("som", count=int(som_N)),
                CellTypeRule("I", "som", allowed=False),
                CellTypeRule("som", "som", allowed=False)]
    return tuple(out)


def spikernn_to_psychcore(
    path: str | os.PathLike[str], *, apply_dale: bool | None = None, dtype: str = "float32"
) -> tuple[ModelSpec, dict[str, np.ndarray]]:
    """Read a network saved by spikeRNN's training script as a psychcore spec and weights.

    The result runs unchanged in :class:`psychcore.Simulator`, every backend and
    :meth:`psychcore.spiking.RateNetwork.from_weights` (the module docstring gives the
    equations and the step mapping). The spec is bound (``dt = 5`` ms, ``N_in``, ``N_out``);
    its constraints (:func:`spikernn_constraints` with ``P_inh`` the file's fraction of
    inhibitory units) describe how spikeRNN draws such a network, and the weights hold the
    file's own structure: ``Dale_rec = m``, ``rec_connectivity = som_m``, ``Dale_out`` the
    identity, ``dale_rectify = dale_signed_in = dale_signed_out = 1``. The file does not
    hold ``w_dist``, ``gain`` or ``P_rec``: the spec's ``initializer="spikernn"`` has
    spikeRNN's defaults (``"gaus"``, 1.5, 0.2); change them before drawing new networks.

    Args:
        path: The ``.mat`` file.
        apply_dale: Whether the network was trained with ``--apply_dale True``. None reads it
            from the file: Dale's principle is on when ``m`` has an inhibitory unit (a
            network trained with Dale's principle but no inhibitory unit cannot be told apart
            from one trained without it; pass ``apply_dale=True`` for it).
        dtype: The spec's dtype, ``"float32"`` (spikeRNN's) or ``"float64"``.

    Returns:
        ``(spec, weights)``.

    Raises:
        ImportError: If SciPy is not installed.
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not a spikeRNN model, its shapes disagree, its activation
            is not ``"sigmoid"`` (psychcore has no clipped rates) or every unit is inhibitory.
    """
    if apply_dale is not None and not isinstance(apply_dale, bool):
        raise TypeError(f"{_OWNER}: apply_dale must be None or a bool; received "
                        f"{type(apply_dale).__name__}")
    data = read_spikernn_mat(path, _OWNER)

    def get(key: str) -> np.ndarray:
        return np.asarray(data[key], dtype=np.float64)

    name = os.fspath(path)
    activation = str(np.asarray(data.get("activation", "sigmoid")).ravel()[0]).strip()
    if activation != "sigmoid":
        raise ValueError(f"{_OWNER}: {name!r} was trained with activation {activation!r}; "
                         "psychcore reproduces spikeRNN's 'sigmoid' networks only")
    N = check_int(int(get("N").item()), "N", _OWNER)
    m = get("m")
    if m.shape != (N, N) or np.count_nonzero(m - np.diag(np.diagonal(m))) \
            or not np.all(np.isin(np.diagonal(m), (-1.0, 1.0))):
        raise ValueError(f"{_OWNER}: {name!r}: 'm' must be a diagonal ({N}, {N}) matrix of "
                         "+1/-1")
    signs = np.diagonal(m).copy()
    dale = bool(np.any(signs < 0)) if apply_dale is None else apply_dale
    shapes = {"w": (N, N), "som_m": (N, N)}
    for key, shape in shapes.items():
        if get(key).shape != shape:
            raise ValueError(f"{_OWNER}: {name!r}: '{key}' has shape {get(key).shape}; "
                             f"expected {shape}")
    w_in = get("w_in")
    w_out = get("w_out")
    if w_in.ndim != 2 or w_in.shape[0] != N or w_out.ndim != 2 or w_out.shape[1] != N:
        raise ValueError(f"{_OWNER}: {name!r}: 'w_in' must be (N, N_in) and 'w_out' (N_out, N) "
                         f"with N = {N}; received {w_in.shape} and {w_out.shape}")
    N_in, N_out = w_in.shape[1], w_out.shape[0]
    b_out = get("b_out").ravel()
    if b_out.size == 1:
        b_out = np.full(N_out, b_out[0])
    if b_out.shape != (N_out,):
        raise ValueError(f"{_OWNER}: {name!r}: 'b_out' must hold 1 or N_out = {N_out} values; "
                         f"received {b_out.size}")
    som_m = get("som_m")
    if not np.all((som_m == 0) | (som_m == 1)):
        raise ValueError(f"{_OWNER}: {name!r}: 'som_m' must hold only 0 and 1")
    taus = get("taus").ravel() * (SPIKERNN_STEP_S * 1000.0)  # steps of 5 ms -> ms
    dt = SPIKERNN_STEP_S * 1000.0
    n_inh = int(np.sum(signs < 0))
    if dale and n_inh == N:
        raise ValueError(f"{_OWNER}: {name!r}: every unit is inhibitory; psychcore's Dale "
                         "ratio (the fraction of excitatory units) must be > 0")
    som_N = int(get("som_N").item()) if "som_N" in data else 0
    constraints = spikernn_constraints(n_inh / N, som_N if n_inh else 0) if dale else ()
    per_unit = taus.size > 1
    if per_unit and not 0 < taus[0] < taus[1]:
        raise ValueError(f"{_OWNER}: {name!r}: 'taus' must be [min, max] with 0 < min < max; "
                         f"received {get('taus').ravel().tolist()}")
    spec = ModelSpec(
        N_rec=N, transfer_function="sigmoid", rec_noise=SPIKERNN_NOISE_STD,
        noise_convention="fixed", constraints=constraints, initializer="spikernn",
        W_in_train=False, b_rec_train=False, init_state_train=False, train_tau=per_unit,
        tau_range=(float(taus[0]), float(taus[1])) if per_unit else None, dtype=dtype,
        N_in=N_in, N_out=N_out, dt=dt,
        tau=float(taus.mean()) if per_unit else float(taus[0]),
    )
    eye = np.eye(N)
    weights: dict[str, np.ndarray] = {
        "W_in": w_in, "W_rec": get("w"), "W_out": w_out, "b_rec": np.zeros(N), "b_out": b_out,
        "init_state": np.zeros((1, N)), "input_connectivity": np.ones((N, N_in)),
        "rec_connectivity": som_m, "output_connectivity": np.ones((N_out, N)),
        "Dale_rec": np.diag(signs) if dale else eye, "Dale_out": eye,
        "dale_ratio": np.array(1.0 - n_inh / N if dale else np.nan),
        "W_in_fixed": np.zeros((N, N_in)), "W_rec_fixed": np.zeros((N, N)),
        "W_out_fixed": np.zeros((N_out, N)),
    }
    if dale:
        weights.update(dale_rectify=np.array(1.0), dale_signed_in=np.array(1.0),
                       dale_signed_out=np.array(1.0))
    if per_unit:
        weights["tau_raw"] = get("taus_gaus").ravel()
        if weights["tau_raw"].shape != (N,):
            raise ValueError(f"{_OWNER}: {name!r}: 'taus_gaus' must hold N = {N} values")
    return spec, {k: np.asarray(v, dtype=dtype) for k, v in weights.items()}
