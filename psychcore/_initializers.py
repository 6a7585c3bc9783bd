"""Weight initialisers: the rules that draw a network's initial weights.

Every initialiser draws from the ``numpy.random.Generator`` it is given and from nothing
else, so a seed fixes the weights. What every initialiser does:

- ``W_in`` and ``W_out`` follow ``which_rand_init`` (PsychRNN's option: ``"glorot_normal"``
  by default; ``"glorot_uniform"``, ``"const_uniform"`` between ``init_minval`` and
  ``init_maxval``, ``"const_normal"`` with standard deviation ``init_std``; PsychRNN's
  spellings ``glorot_gauss``, ``glorot_unif``, ``const_unif``, ``const_gauss`` are accepted).
  Glorot scales use per-entry fans counted on the connectivity mask, as PsychRNN does.
- ``W_rec`` follows the initialiser's own rule. Then, for every rule: masked entries are set
  to exactly 0; with Dale's principle the block is made non-negative (the effective weights
  use ``|W|``) and balanced by :func:`balance_dale_ratio`; ``gaussian_spectral_radius`` then
  scales it so that the *effective* recurrent matrix of docs/equations.md has spectral radius
  ``spec_rad`` (PsychRNN measured the raw matrix; the two agree without Dale).
- ``b_rec``, ``b_out`` are 0, ``init_state = 0.1 + 0.01 * N(0, 1)`` with shape ``(1, N_rec)``.
- Gated architectures (``G`` blocks, gate orders of docs/equations.md): each gate block of
  ``W_in`` and ``W_rec`` is drawn independently by the same rules, the LSTM forget-gate bias
  is 1 (the others 0), ``init_cell`` is 0.
- Trainable time constants: ``tau_raw`` is set so that every ``tau_unit`` equals the task's
  ``tau`` at the start, i.e. ``tau_raw = logit((tau - tau_min) / (tau_max - tau_min))``.

Draw order (for reproducibility): structure (random constraints), ``W_in`` blocks, ``W_rec``
blocks, ``W_out``, ``init_state``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from ._checks import check_choice, check_float, describe
from ._constraints import N_GATES, Structure
from ._registry import registered

RAND_INITS = ("glorot_normal", "glorot_uniform", "const_uniform", "const_normal")
PSYCHRNN_RAND_INITS = {
    "glorot_gauss": "glorot_normal",
    "glorot_unif": "glorot_uniform",
    "const_unif": "const_uniform",
    "const_gauss": "const_normal",
}

Checker = Callable[[Any, str, str], Any]


def _real(**bounds: Any) -> Checker:
    return lambda value, name, owner: check_float(value, name, owner, **bounds)


def _rand_init(value: Any, name: str, owner: str) -> str:
    if isinstance(value, str) and value in PSYCHRNN_RAND_INITS:
        value = PSYCHRNN_RAND_INITS[value]
    return check_choice(value, name, owner, RAND_INITS)


def glorot_std(connectivity: np.ndarray) -> np.ndarray:
    """Per-entry Glorot standard deviation ``sqrt(2 / (fan_in + fan_out))``.

    ``fan_in`` of entry ``(i, j)`` is the number of connections received by row ``i``,
    ``fan_out`` the number sent by column ``j`` (counted on ``connectivity``).
    """
    fans = connectivity.sum(axis=1, keepdims=True) + connectivity.sum(axis=0, keepdims=True)
    return np.sqrt(2.0 / np.maximum(fans, 1.0))


def draw_matrix(
    rule: str, connectivity: np.ndarray, rng: np.random.Generator, **params: float
) -> np.ndarray:
    """Draw a matrix shaped like ``connectivity`` by ``rule``; masked entries are 0.

    Args:
        rule: One of :data:`RAND_INITS`.
        connectivity: 0/1 mask.
        rng: Generator.
        **params: ``minval``, ``maxval`` (``const_uniform``), ``std`` (``const_normal``).
    """
    shape = connectivity.shape
    if rule == "glorot_normal":
        W = rng.standard_normal(shape) * glorot_std(connectivity)
    elif rule == "glorot_uniform":
        W = rng.uniform(-1.0, 1.0, shape) * math.sqrt(3.0) * glorot_std(connectivity)
    elif rule == "const_uniform":
        W = rng.uniform(params.get("minval", -0.1), params.get("maxval", 0.1), shape)
    elif rule == "const_normal":
        W = rng.standard_normal(shape) * params.get("std", 1.0)
    else:
        raise ValueError(f"draw_matrix: rule must be one of {RAND_INITS}; received {rule!r}")
    return W * connectivity


def balance_dale_ratio(W_rec: np.ndarray, dale_signs: np.ndarray) -> np.ndarray:
    """Make ``W_rec`` non-negative and scale its inhibitory columns so that E and I balance.

    After balancing, the summed excitatory weight equals the summed inhibitory weight, so
    the effective matrix ``|W| @ diag(dale_signs)`` sums to 0 (PsychRNN balances with the
    expected ratio ``NE / NI``; psychcore balances the drawn weights exactly).

    Args:
        W_rec: ``(N_rec, N_rec)`` raw recurrent block (already masked).
        dale_signs: ``(N_rec,)`` +1 / -1.

    Returns:
        A new balanced non-negative array (unchanged scaling if either population sends
        no weight).
    """
    W = np.abs(W_rec)
    exc, inh = dale_signs > 0, dale_signs < 0
    total_e, total_i = W[:, exc].sum(), W[:, inh].sum()
    if total_e > 0 and total_i > 0:
        W[:, inh] *= total_e / total_i
    return W


def effective_recurrent(W_rec: np.ndarray, structure: Structure) -> np.ndarray:
    """Effective recurrent block of docs/equations.md for one gate block."""
    if structure.dale_signs is None:
        return W_rec * structure.rec_connectivity
    return (np.abs(W_rec) * structure.rec_connectivity) * structure.dale_signs[None, :]


class Initializer:
    """Base class of the initialisers.

    Subclasses set ``name``, declare their own parameters in ``PARAMS`` (name -> (default,
    checker)) and implement :meth:`draw_recurrent`. All initialisers also accept the shared
    parameters ``which_rand_init``, ``init_minval``, ``init_maxval``, ``init_std`` for
    ``W_in`` / ``W_out``. Equality goes through :meth:`to_dict`.
    """

    name: ClassVar[str] = ""
    PARAMS: ClassVar[dict[str, tuple[Any, Checker]]] = {}
    SHARED: ClassVar[dict[str, tuple[Any, Checker]]] = {
        "which_rand_init": ("glorot_normal", _rand_init),
        "init_minval": (-0.1, _real()),
        "init_maxval": (0.1, _real()),
        "init_std": (1.0, _real(low=0.0, low_open=True)),
    }

    def __init__(self, **params: Any) -> None:
        owner = type(self).__name__
        spec = {**self.SHARED, **self.PARAMS}
        unknown = sorted(set(params) - set(spec))
        if unknown:
            raise TypeError(
                f"{owner}: unknown parameter(s) {unknown}; valid parameters: {sorted(spec)}"
            )
        self.params: dict[str, Any] = {}
        for key, (default, checker) in spec.items():
            self.params[key] = checker(params.get(key, default), key, owner)
        if self.params["init_minval"] >= self.params["init_maxval"]:
            raise ValueError(
                f"{owner}: init_minval must be < init_maxval; received "
                f"{self.params['init_minval']} and {self.params['init_maxval']}"
            )
        self._check()

    def _check(self) -> None:
        """Cross-parameter checks of subclasses."""

    def __getattr__(self, key: str) -> Any:
        params = self.__dict__.get("params", {})
        if key in params:
            return params[key]
        raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")

    def to_dict(self) -> dict[str, Any]:
        """``{"type": name, **params}`` (every parameter, defaults included)."""
        return {"type": self.name, **self.params}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Initializer):
            return NotImplemented
        return type(self) is type(other) and self.params == other.params

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        own = ", ".join(f"{k}={self.params[k]!r}" for k in self.PARAMS)
        return f"{type(self).__name__}({own})"

    # -- drawing --------------------------------------------------------------------------

    def draw_recurrent(self, structure: Structure, rng: np.random.Generator) -> np.ndarray:
        """Draw one raw ``(N_rec, N_rec)`` recurrent block (masking is done by the caller)."""
        raise NotImplementedError

    def scale_recurrent(self, W: np.ndarray, structure: Structure) -> np.ndarray:
        """Rescale a masked (and Dale-balanced) block; the default leaves it unchanged."""
        return W

    def recurrent_block(self, structure: Structure, rng: np.random.Generator) -> np.ndarray:
        """One recurrent block: draw, mask, Dale-balance, scale."""
        W = self.draw_recurrent(structure, rng) * structure.rec_connectivity
        if structure.dale_signs is not None:
            W = balance_dale_ratio(W, structure.dale_signs)
        return self.scale_recurrent(W, structure)

    def feedforward(self, connectivity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw ``W_in`` / ``W_out`` (one block) by ``which_rand_init``."""
        p = self.params
        return draw_matrix(
            p["which_rand_init"], connectivity, rng,
            minval=p["init_minval"], maxval=p["init_maxval"], std=p["init_std"],
        )

    def initialize(
        self, structure: Structure, rng: np.random.Generator, architecture: str = "rnn"
    ) -> dict[str, np.ndarray]:
        """Draw the trainable arrays (``float64``) for ``structure``.

        Returns:
            ``W_in``, ``W_rec``, ``W_out``, ``b_rec``, ``b_out``, ``init_state`` and, for
            ``"lstm"``, ``init_cell``.
        """
        check_choice(architecture, "architecture", type(self).__name__, tuple(N_GATES))
        G, N = N_GATES[architecture], structure.N_rec
        W_in = np.concatenate(
            [self.feedforward(structure.input_connectivity, rng) for _ in range(G)]
        )
        W_rec = np.concatenate([self.recurrent_block(structure, rng) for _ in range(G)])
        W_out = self.feedforward(structure.output_connectivity, rng)
        b_rec = np.zeros(G * N)
        if architecture == "lstm":
            b_rec[N : 2 * N] = 1.0
        out = {
            "W_in": W_in,
            "W_rec": W_rec,
            "W_out": W_out,
            "b_rec": b_rec,
            "b_out": np.zeros(structure.N_out),
            "init_state": 0.1 + 0.01 * rng.standard_normal((1, N)),
        }
        if architecture == "lstm":
            out["init_cell"] = np.zeros((1, N))
        return out


INITIALIZERS: dict[str, type[Initializer]] = {}
"""Registry of initialiser classes by name."""


def register_initializer(cls: type[Initializer]) -> type[Initializer]:
    """Register an :class:`Initializer` subclass under its ``name`` (usable as decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Initializer)) or not cls.name:
        raise TypeError(
            "register_initializer: expected an Initializer subclass with a name; "
            f"received {describe(cls)}"
        )
    INITIALIZERS[cls.name] = cls
    return cls


@register_initializer
class GaussianSpectralRadius(Initializer):
    """Gaussian ``W_rec`` scaled to spectral radius ``spec_rad`` (default 1.1).

    With Dale's principle the block is balanced first, and the radius is that of the
    effective matrix ``(|W| * C) @ D_rec``.
    """

    name = "gaussian_spectral_radius"
    PARAMS = {"spec_rad": (1.1, _real(low=0.0, low_open=True))}

    def draw_recurrent(self, structure: Structure, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((structure.N_rec, structure.N_rec))

    def scale_recurrent(self, W: np.ndarray, structure: Structure) -> np.ndarray:
        radius = float(np.max(np.abs(np.linalg.eigvals(effective_recurrent(W, structure)))))
        return W * (self.params["spec_rad"] / radius) if radius > 0 else W


@register_initializer
class AlphaIdentity(Initializer):
    """``W_rec = alpha * I`` (masked; balanced with Dale, so ``|w_ii|`` then differs)."""

    name = "alpha_identity"
    PARAMS = {"alpha": (1.0, _real())}

    def draw_recurrent(self, structure: Structure, rng: np.random.Generator) -> np.ndarray:
        return self.params["alpha"] * np.eye(structure.N_rec)


@register_initializer
class GlorotNormal(Initializer):
    """Glorot-normal ``W_rec`` (per-entry fans on the connectivity mask)."""

    name = "glorot_normal"

    def draw_recurrent(self, structure: Structure, rng: np.random.Generator) -> np.ndarray:
        return draw_matrix("glorot_normal", structure.rec_connectivity, rng)


@register_initializer
class GlorotUniform(Initializer):
    """Glorot-uniform ``W_rec`` in ``[-sqrt(6 / (fan_in + fan_out)), +...]``."""

    name = "glorot_uniform"

    def draw_recurrent(self, structure: Structure, rng: np.random.Generator) -> np.ndarray:
        return draw_matrix("glorot_uniform", structure.rec_connectivity, rng)


@register_initializer
class ConstUniform(Initializer):
    """Uniform ``W_rec`` in ``[minval, maxval)`` (defaults -0.1, 0.1)."""

    name = "const_uniform"
    PARAMS = {"minval": (-0.1, _real()), "maxval": (0.1, _real())}

    def _check(self) -> None:
        if self.params["minval"] >= self.params["maxval"]:
            raise ValueError(
                f"ConstUniform: minval must be < maxval; received {self.params['minval']} "
                f"and {self.params['maxval']}"
            )

    def draw_recurrent(self, structure: Structure, rng: np.random.Generator) -> np.ndarray:
        p = self.params
        return rng.uniform(p["minval"], p["maxval"], (structure.N_rec, structure.N_rec))


@register_initializer
class ConstNormal(Initializer):
    """Normal ``W_rec`` with mean 0 and standard deviation ``std`` (default 1)."""

    name = "const_normal"
    PARAMS = {"std": (1.0, _real(low=0.0, low_open=True))}

    def draw_recurrent(self, structure: Structure, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((structure.N_rec, structure.N_rec)) * self.params["std"]


_P_REC = _real(low=0.0, high=1.0, low_open=True)


@register_initializer
class RateGaussian(Initializer):
    """Rate-RNN gaussian weights: ``N(0, gain**2 / (N_rec * P_rec))`` kept with probability
    ``P_rec`` (defaults ``gain=1.5``, ``P_rec=0.2``).

    The ``P_rec`` sparsity is of the initial weights only (training may fill the zeros); for
    sparsity that lasts use the ``SparseConnectivity`` constraint.
    """

    name = "rate_gaussian"
    PARAMS = {"gain": (1.5, _real(low=0.0, low_open=True)), "P_rec": (0.2, _P_REC)}

    def draw_recurrent(self, structure: Structure, rng: np.random.Generator) -> np.ndarray:
        N, p = structure.N_rec, self.params["P_rec"]
        W = rng.standard_normal((N, N)) * self.params["gain"] / math.sqrt(N * p)
        return W * (rng.random((N, N)) < p)


@register_initializer
class RateGamma(Initializer):
    """Rate-RNN gamma weights: ``gain * Gamma(shape, scale)`` (positive) kept with probability
    ``P_rec`` (defaults ``gain=1``, ``P_rec=0.2``, ``shape=2``, ``scale=0.003``).

    The weights are positive: without Dale's principle every connection is excitatory.
    """

    name = "rate_gamma"
    PARAMS = {
        "gain": (1.0, _real(low=0.0, low_open=True)),
        "P_rec": (0.2, _P_REC),
        "shape": (2.0, _real(low=0.0, low_open=True)),
        "scale": (0.003, _real(low=0.0, low_open=True)),
    }

    def draw_recurrent(self, structure: Structure, rng: np.random.Generator) -> np.ndarray:
        N, p = structure.N_rec, self.params
        W = rng.gamma(p["shape"], p["scale"], (N, N)) * p["gain"]
        return W * (rng.random((N, N)) < p["P_rec"])


@register_initializer
class Orthogonal(Initializer):
    """Random orthogonal ``W_rec`` times ``gain`` (QR of a gaussian matrix, sign-corrected)."""

    name = "orthogonal"
    PARAMS = {"gain": (1.0, _real(low=0.0, low_open=True))}

    def draw_recurrent(self, structure: Structure, rng: np.random.Generator) -> np.ndarray:
        q, r = np.linalg.qr(rng.standard_normal((structure.N_rec, structure.N_rec)))
        return q * np.sign(np.diag(r))[None, :] * self.params["gain"]


def _w_dist(value: Any, name: str, owner: str) -> str:
    return check_choice(value.lower() if isinstance(value, str) else value, name, owner,
                        ("gaus", "gamma"))


@register_initializer
class SpikeRNN(Initializer):
    """spikeRNN's initialisation (Kim, Li & Sejnowski 2019, ``FR_RNN_dale`` and its
    ``rate/main.py``), for the rate RNN only; pair it with
    ``psychcore.spiking.spikernn_constraints`` for its structure (random E/I placement with
    probability ``P_inh``, SOM units).

    - ``W_rec``: each entry exists with probability ``P_rec``; an existing entry is
      ``N(0, 1) * gain / sqrt(N_rec * P_rec)`` for ``w_dist="gaus"`` or ``Gamma(2, 0.003)``
      for ``w_dist="gamma"`` (spikeRNN applies no gain there); with Dale's principle
      ``|W_rec|``. No E/I balancing, no spectral scaling. The ``P_rec`` sparsity is of the
      initial weights only, as in spikeRNN (its training may fill the zeros).
    - ``W_in = N(0, 1)`` (spikeRNN's ``randn(N, N_in)``), ``W_out = N(0, 1) / 100``.
    - ``b_rec = b_out = 0``; ``init_state = N(0, 1) / 100`` (spikeRNN draws this ``x_0``
      again in every trial; psychcore keeps one).

    Masks multiply every matrix (entries outside them are 0). Draw order: ``W_in``, the
    ``W_rec`` existence draw, its values, ``W_out``, ``init_state``. The shared
    ``which_rand_init`` parameters are not used.
    """

    name = "spikernn"
    PARAMS = {
        "w_dist": ("gaus", _w_dist),
        "gain": (1.5, _real(low=0.0, low_open=True)),
        "P_rec": (0.2, _P_REC),
    }

    def draw_recurrent(self, structure: Structure, rng: np.random.Generator) -> np.ndarray:
        N, p = structure.N_rec, self.params
        exists = rng.random((N, N)) < p["P_rec"]
        if p["w_dist"] == "gamma":
            W = rng.gamma(2.0, 0.003, (N, N))
        else:
            W = rng.standard_normal((N, N)) * p["gain"] / math.sqrt(N * p["P_rec"])
        W = W * exists * structure.rec_connectivity
        return np.abs(W) if structure.dale_signs is not None else W

    def initialize(
        self, structure: Structure, rng: np.random.Generator, architecture: str = "rnn"
    ) -> dict[str, np.ndarray]:
        """Draw the trainable arrays (``float64``) for ``structure`` (class docstring).

        Raises:
            ValueError: For an architecture other than ``"rnn"``.
        """
        if architecture != "rnn":
            raise ValueError(f"SpikeRNN: the spikernn initialiser is for architecture 'rnn' "
                             f"only; received {architecture!r}")
        N = structure.N_rec
        W_in = rng.standard_normal((N, structure.N_in)) * structure.input_connectivity
        W_rec = self.draw_recurrent(structure, rng)
        W_out = rng.standard_normal((structure.N_out, N)) / 100.0 * structure.output_connectivity
        return {
            "W_in": W_in,
            "W_rec": W_rec,
            "W_out": W_out,
            "b_rec": np.zeros(N),
            "b_out": np.zeros(structure.N_out),
            "init_state": rng.standard_normal((1, N)) / 100.0,
        }


def get_initializer(name_or_obj: Any, **params: Any) -> Initializer:
    """Resolve an initialiser from a registered name, a class, a ``to_dict()`` dict or an
    instance.

    Args:
        name_or_obj: Name in :data:`INITIALIZERS` (or registered by a plugin through the
            ``psychcore_register_initializers`` hook), ``Initializer`` subclass or instance,
            or a dict with a ``"type"`` key.
        **params: Parameters for a name or class (not allowed with an instance).

    Raises:
        TypeError: For another type or unknown parameters.
        ValueError: For an unregistered name, bad parameter values, or parameters given
            with an instance.
    """
    if isinstance(name_or_obj, Initializer):
        if params:
            raise ValueError(
                f"get_initializer: parameters {sorted(params)} given with an Initializer "
                f"instance ({name_or_obj!r}); set them on the instance instead"
            )
        return name_or_obj
    if isinstance(name_or_obj, dict):
        d = dict(name_or_obj)
        kind = d.pop("type", None)
        return get_initializer(kind, **{**d, **params})
    if isinstance(name_or_obj, type) and issubclass(name_or_obj, Initializer):
        return name_or_obj(**params)
    if not isinstance(name_or_obj, str):
        raise TypeError(
            "get_initializer: expected a registered name, an Initializer or its to_dict(); "
            f"received {describe(name_or_obj)}"
        )
    cls = INITIALIZERS.get(name_or_obj)
    if cls is None:
        available = {**_plugin_initializers(), **INITIALIZERS}
        cls = available.get(name_or_obj)
        if cls is None:
            raise ValueError(
                f"get_initializer: unknown initializer {name_or_obj!r}; registered: "
                f"{sorted(available)}"
            )
    return cls(**params)


def _plugin_initializers() -> dict[str, type[Initializer]]:
    """Initialisers registered by plugins (``psychcore_register_initializers`` hook)."""
    return registered("initializer")
