"""ModelSpec: a validated, JSON-serialisable description of a network.

A spec is frozen and checked at construction: a wrong type raises ``TypeError``, a bad value
``ValueError``, each message naming the argument, what was expected and what was received.

Decisions worth knowing:

- Connectivity masks are stored as read-only ``float64`` 0/1 arrays; equality compares them
  by value and specs are hashable (arrays hash by content).
- ``dale_ratio=0`` is refused (PsychRNN silently disabled Dale's principle at 0); ``None``
  disables it.
- ``train_tau=True`` without ``tau_range``: the range defaults to ``(dt, 10 * tau)``, filled
  in as soon as the spec is bound (so it appears in the JSON of a bound spec). The task's
  ``tau`` must lie strictly inside the range (the time constants start at ``tau``).
- ``initializer`` is a name of ``psychcore._initializers.INITIALIZERS`` (with
  ``initializer_params``) or an ``Initializer`` instance (then ``initializer_params`` must be
  empty).
- ``constraints`` are applied after the convenience fields (masks, ``dale_ratio``) and
  before ``autapses=False``; see ``psychcore._constraints``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._checks import (
    as_mask,
    check_bool,
    check_choice,
    check_float,
    check_int,
    describe,
)
from ._constraints import N_GATES, Constraint, Dale, InhibitorySubtype
from ._initializers import Initializer, get_initializer
from ._spec_io import (
    REGULARIZATION_KEYS,
    TRAIN_FLAGS,
    decode_fields,
    encode_fields,
    fields_to_json,
    json_to_fields,
    psychrnn_kwargs,
    read_json_file,
)

ARCHITECTURES = ("rnn", "lstm", "gru")
TRANSFER_FUNCTIONS = ("relu", "tanh", "sigmoid", "softplus", "linear")
LOSSES = ("mean_squared_error", "binary_cross_entropy", "cross_entropy")
BOUND_KEYS = ("N_in", "N_out", "dt", "tau")
DTYPES = ("float32", "float64")
NOISE_CONVENTIONS = ("psychrnn", "fixed")

_OWNER = "ModelSpec"


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """Description of a recurrent network: size, architecture, constraints, initialisation,
    loss and regularisation, trainable parts, numerics, and the task sizes once bound.

    Args:
        N_rec: Number of recurrent units.
        architecture: ``"rnn"`` (rate RNN), ``"lstm"`` or ``"gru"``.
        transfer_function: ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"softplus"``,
            ``"linear"`` (rate RNN only; gated architectures use their own gates).
        rec_noise: Recurrent noise amplitude, ``>= 0``; ``> 0`` only for ``"rnn"``.
        noise_convention: How ``rec_noise`` enters the state each step: ``"psychrnn"``
            adds ``sqrt(2 * alpha_i) * rec_noise * xi`` (PsychRNN), ``"fixed"`` adds
            ``rec_noise * xi`` whatever the time constants (spikeRNN's ``randn / 10`` is
            ``rec_noise=0.1``); ``xi`` standard normal.
        dale_ratio: Fraction of excitatory units, ``0 < r <= 1``, or ``None`` (no Dale).
        autapses: ``False`` removes self-connections.
        input_connectivity: ``(N_rec, N_in)`` 0/1 mask or ``None``.
        rec_connectivity: ``(N_rec, N_rec)`` 0/1 mask or ``None``.
        output_connectivity: ``(N_out, N_rec)`` 0/1 mask or ``None``.
        constraints: Extra :class:`~psychcore._constraints.Constraint` objects, in order.
        initializer: Registered initialiser name or ``Initializer`` instance.
        initializer_params: Parameters of a named initialiser.
        loss: ``"mean_squared_error"``, ``"binary_cross_entropy"``, ``"cross_entropy"`` or
            a module-level callable.
        L1_in: Regularisation weight, ``>= 0``.
        L1_rec: Regularisation weight, ``>= 0``.
        L1_out: Regularisation weight, ``>= 0``.
        L2_in: Regularisation weight, ``>= 0``.
        L2_rec: Regularisation weight, ``>= 0``.
        L2_out: Regularisation weight, ``>= 0``.
        L2_firing_rate: Regularisation weight, ``>= 0``.
        custom_regularization: ``None`` or a module-level callable.
        W_in_train: Whether ``W_in`` trains.
        W_rec_train: Whether ``W_rec`` trains.
        W_out_train: Whether ``W_out`` trains.
        b_rec_train: Whether ``b_rec`` trains.
        b_out_train: Whether ``b_out`` trains.
        init_state_train: Whether ``init_state`` trains.
        train_tau: Per-unit trainable time constants.
        tau_range: ``(tau_min, tau_max)``, ``0 < tau_min < tau_max`` (see module docstring).
        dtype: ``"float32"`` or ``"float64"``.
        N_in: Filled by :meth:`bind`; ``None`` until then.
        N_out: Filled by :meth:`bind`; ``None`` until then.
        dt: Filled by :meth:`bind`; ``None`` until then.
        tau: Filled by :meth:`bind`; ``None`` until then.
    """

    N_rec: int = 50
    architecture: str = "rnn"
    transfer_function: str = "relu"
    rec_noise: float = 0.0
    noise_convention: str = "psychrnn"
    # constraints (convenience fields; composed with `constraints` below)
    dale_ratio: float | None = None
    autapses: bool = True
    input_connectivity: Any = None
    rec_connectivity: Any = None
    output_connectivity: Any = None
    constraints: tuple = ()
    # initialisation
    initializer: Any = "gaussian_spectral_radius"
    initializer_params: dict = field(default_factory=dict)
    # loss and regularisation
    loss: str | Callable = "mean_squared_error"
    L1_in: float = 0.0
    L1_rec: float = 0.0
    L1_out: float = 0.0
    L2_in: float = 0.0
    L2_rec: float = 0.0
    L2_out: float = 0.0
    L2_firing_rate: float = 0.0
    custom_regularization: Callable | None = None
    # trainable flags
    W_in_train: bool = True
    W_rec_train: bool = True
    W_out_train: bool = True
    b_rec_train: bool = True
    b_out_train: bool = True
    init_state_train: bool = True
    # per-unit trainable time constants
    train_tau: bool = False
    tau_range: tuple[float, float] | None = None
    # numerics
    dtype: str = "float32"
    # bound from a task (None until bound)
    N_in: int | None = None
    N_out: int | None = None
    dt: float | None = None
    tau: float | None = None

    def __post_init__(self) -> None:
        for name, value in _validated(self).items():
            object.__setattr__(self, name, value)

    # -- identity -------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModelSpec):
            return NotImplemented
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    def __hash__(self) -> int:
        return hash(tuple(_freeze(getattr(self, f.name)) for f in dataclasses.fields(self)))

    def __repr__(self) -> str:
        """The fields that differ from their defaults (``N_rec`` always); masks summarised."""
        default = _default_spec()
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "N_rec" and _freeze(value) == _freeze(getattr(default, f.name)):
                continue
            if isinstance(value, np.ndarray):
                text = f"<0/1 mask {value.shape}, {int(value.sum())} ones>"
            elif callable(value) and hasattr(value, "__qualname__"):
                text = f"{getattr(value, '__module__', '?')}.{value.__qualname__}"
            else:
                text = repr(value)
            parts.append(f"{f.name}={text}")
        return f"ModelSpec({', '.join(parts)})"

    # -- derived --------------------------------------------------------------------------

    @property
    def is_bound(self) -> bool:
        """Whether ``N_in``, ``N_out``, ``dt`` and ``tau`` are all known."""
        return all(getattr(self, k) is not None for k in BOUND_KEYS)

    @property
    def n_gates(self) -> int:
        """Number of gate blocks ``G`` (1 rnn, 4 lstm, 3 gru)."""
        return N_GATES[self.architecture]

    @property
    def alpha(self) -> float | None:
        """``dt / tau`` once bound, else ``None``."""
        return None if self.dt is None or self.tau is None else self.dt / self.tau

    def replace(self, **changes: Any) -> ModelSpec:
        """A copy with ``changes`` applied (validated like a new spec)."""
        return dataclasses.replace(self, **changes)

    def bind(self, task_or_params: Any) -> ModelSpec:
        """A copy with ``N_in``, ``N_out``, ``dt``, ``tau`` taken from a task.

        Args:
            task_or_params: An object with attributes ``N_in``, ``N_out``, ``dt``, ``tau``
                (a :class:`~psychcore.Task`) or a mapping with those keys (PsychRNN's
                ``get_task_params()`` dict).

        Raises:
            TypeError: If the argument provides none of the four values.
            ValueError: If some are missing, one conflicts with a value already set, or the
                weights would not fit in the machine's memory (:func:`check_memory`).
        """
        if isinstance(task_or_params, Mapping):
            found = {k: task_or_params[k] for k in BOUND_KEYS if k in task_or_params}
        else:
            found = {k: getattr(task_or_params, k) for k in BOUND_KEYS
                     if hasattr(task_or_params, k)}
        if not found:
            raise TypeError(
                f"ModelSpec.bind: expected a Task or a dict with keys {BOUND_KEYS}; "
                f"received {describe(task_or_params)}"
            )
        missing = [k for k in BOUND_KEYS if k not in found]
        if missing:
            raise ValueError(f"ModelSpec.bind: the task lacks {missing} (needs {BOUND_KEYS})")
        changes = {}
        for key, new in found.items():
            if isinstance(new, np.ndarray) and new.ndim == 0:
                new = new.item()
            old = getattr(self, key)
            if old is None:
                changes[key] = new
                continue
            same = isinstance(new, int | float | np.number) and not isinstance(new, bool) and (
                math.isclose(float(old), float(new), rel_tol=1e-12)
            )
            if not same:
                raise ValueError(
                    f"ModelSpec.bind: {key} conflicts: the spec has {key}={old!r}, "
                    f"the task has {key}={new!r}"
                )
        bound = dataclasses.replace(self, **changes) if changes else self
        check_memory(bound)
        return bound

    def weights_nbytes(self) -> int | None:
        """Bytes of the complete weights dict in float64 (None until ``N_in``/``N_out`` are set).

        Counts every array of the format (weights, masks, Dale signs, fixed masks); training
        needs several times more (gradients, optimiser state, activity).
        """
        if self.N_in is None or self.N_out is None:
            return None
        N, G, n_in, n_out = self.N_rec, self.n_gates, self.N_in, self.N_out
        entries = (2 * G * N * (n_in + N) + 3 * n_out * N + N * n_in + 3 * N * N
                   + (G + 2) * N + n_out)
        return 8 * entries

    # -- serialisation (the field codec is psychcore._spec_io) ------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field (encoding: :mod:`psychcore._spec_io`)."""
        return encode_fields({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelSpec:
        """Inverse of :meth:`to_dict` (a partial dict uses the defaults).

        Raises:
            TypeError: If ``d`` is not a mapping.
            ValueError: For unknown keys (listed with the valid ones) or invalid values.
        """
        return cls(**decode_fields(d, [f.name for f in dataclasses.fields(cls)]))

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text of :meth:`to_dict`, one field per line (``indent=None``: one line).

        Raises:
            ValueError: If a callable cannot be referred to or a parameter is not JSON data.
        """
        return fields_to_json(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelSpec:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json_to_fields(text))

    @classmethod
    def from_psychrnn(
        cls, params: Mapping[str, Any], *, unknown: str = "warn", weights_read: bool = False
    ) -> ModelSpec:
        """Build a spec from a PsychRNN parameter dict.

        See :func:`psychcore._spec_io.psychrnn_kwargs` for the mapping; ``unknown`` ("warn",
        "ignore", "error") says what happens to keys that are neither network nor task keys
        (misspelt network keys and keys that would change the network, like
        ``architecture``, are always refused); ``weights_read`` silences the warning about
        ``load_weights_path`` for a caller that reads the file (weight arrays are never part
        of a spec: :func:`psychcore._weights.psychrnn_network` reads them).
        """
        return cls(**psychrnn_kwargs(params, unknown=unknown, weights_read=weights_read))

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> ModelSpec:
        """Read a spec from a JSON file written by :meth:`to_json` (``spec.json`` of a run).

        Raises:
            FileNotFoundError: If the file does not exist.
            ValueError: If it is a directory, not JSON, not a JSON object, or holds unknown
                keys or invalid values (the message names the file).
            TypeError: If a field has the wrong type (the message names the file).
        """
        fields = read_json_file(path, "a ModelSpec JSON file (spec.json)")
        try:
            return cls.from_dict(fields)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{path}: {exc}") from exc


def total_memory() -> int | None:
    """The machine's physical memory in bytes (None where ``os.sysconf`` cannot tell)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(spec: ModelSpec, available: int | None = None) -> None:
    """Refuse a network whose weights alone would not fit in the machine's memory.

    Without this, ``N_rec=1000000`` reaches NumPy as a request for terabytes and fails with an
    allocation error that names no argument.

    Args:
        spec: A spec with ``N_in`` and ``N_out`` set (otherwise nothing is checked).
        available: Bytes to compare with; the machine's total memory by default.

    Raises:
        ValueError: Naming ``N_rec``, the size in GiB and the memory available.
    """
    need = spec.weights_nbytes()
    available = total_memory() if available is None else available
    if need is None or available is None or need <= available:
        return
    gib = 2.0 ** 30
    raise ValueError(
        f"ModelSpec: N_rec={spec.N_rec} ({spec.architecture}, N_in={spec.N_in}, "
        f"N_out={spec.N_out}) needs {need / gib:,.1f} GiB for its weights alone (the "
        f"recurrent matrices grow as N_rec**2), more than this machine's "
        f"{available / gib:,.1f} GiB of memory; choose a smaller N_rec"
    )


@functools.cache
def _default_spec() -> ModelSpec:
    return ModelSpec()


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("ndarray", value.shape, value.tobytes())
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _dale_ratio(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(
            f"{_OWNER}: dale_ratio must be None or a number with 0 < dale_ratio <= 1; "
            f"received {describe(value)}"
        )
    if value == 0:
        raise ValueError(
            f"{_OWNER}: dale_ratio must satisfy 0 < dale_ratio <= 1; received 0. "
            "dale_ratio=0 would make every unit inhibitory and silence the output "
            "(inhibitory units do not reach it). Use dale_ratio=None to disable Dale's law "
            "(PsychRNN silently disabled it at 0; psychcore does not)."
        )
    return check_float(value, "dale_ratio", _OWNER, low=0.0, high=1.0, low_open=True)


def _tau_range(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if isinstance(value, str) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(
            f"{_OWNER}: tau_range must be None or a pair (tau_min, tau_max); "
            f"received {describe(value)}"
        )
    lo = check_float(value[0], "tau_range[0]", _OWNER, low=0.0, low_open=True)
    hi = check_float(value[1], "tau_range[1]", _OWNER, low=0.0, low_open=True)
    if lo >= hi:
        raise ValueError(
            f"{_OWNER}: tau_range must satisfy 0 < tau_min < tau_max; received ({lo}, {hi})"
        )
    return (lo, hi)


def _callable_or_none(value: Any, name: str) -> Callable | None:
    if value is not None and not callable(value):
        raise TypeError(f"{_OWNER}: {name} must be None or a callable; received {describe(value)}")
    return value


def _loss(value: Any) -> str | Callable:
    if callable(value):
        return value
    if not isinstance(value, str):
        raise TypeError(
            f"{_OWNER}: loss must be one of {LOSSES} or a callable; received {describe(value)}"
        )
    return check_choice(value, "loss", _OWNER, LOSSES)


def _constraints(value: Any, N_in: int | None, N_rec: int, N_out: int | None,
                 dale_ratio: float | None) -> tuple[Constraint, ...]:
    if not isinstance(value, tuple | list):
        raise TypeError(
            f"{_OWNER}: constraints must be a tuple of Constraint objects; "
            f"received {describe(value)}"
        )
    dale_seen = dale_ratio is not None
    for i, c in enumerate(value):
        if not isinstance(c, Constraint):
            raise TypeError(
                f"{_OWNER}: constraints[{i}] must be a Constraint; received {describe(c)}"
            )
        if isinstance(c, Dale):
            if dale_seen:
                raise ValueError(
                    f"{_OWNER}: constraints[{i}] applies Dale's principle a second time "
                    "(give dale_ratio or one Dale constraint, not both)"
                )
            dale_seen = True
        if isinstance(c, InhibitorySubtype) and not dale_seen:
            raise ValueError(
                f"{_OWNER}: constraints[{i}] ({c!r}) needs Dale's principle before it; set "
                "dale_ratio or put a Dale constraint earlier"
            )
        c.check(N_in, N_rec, N_out)
    return tuple(value)


def _validated(spec: ModelSpec) -> dict[str, Any]:
    """Check every field of ``spec``; return the normalised values."""
    o = _OWNER
    v: dict[str, Any] = {}
    v["N_rec"] = N_rec = check_int(spec.N_rec, "N_rec", o)
    v["N_in"] = N_in = None if spec.N_in is None else check_int(spec.N_in, "N_in", o)
    v["N_out"] = N_out = None if spec.N_out is None else check_int(spec.N_out, "N_out", o)
    for key in ("dt", "tau"):
        value = getattr(spec, key)
        v[key] = None if value is None else check_float(value, key, o, low=0.0, low_open=True)
    v["architecture"] = check_choice(spec.architecture, "architecture", o, ARCHITECTURES)
    v["transfer_function"] = check_choice(
        spec.transfer_function, "transfer_function", o, TRANSFER_FUNCTIONS
    )
    v["rec_noise"] = check_float(spec.rec_noise, "rec_noise", o, low=0.0)
    if v["rec_noise"] > 0 and v["architecture"] != "rnn":
        raise ValueError(
            f"{o}: rec_noise > 0 is only defined for architecture 'rnn'; received "
            f"rec_noise={v['rec_noise']} with architecture {v['architecture']!r}"
        )
    v["noise_convention"] = check_choice(spec.noise_convention, "noise_convention", o,
                                         NOISE_CONVENTIONS)
    v["dale_ratio"] = _dale_ratio(spec.dale_ratio)
    v["autapses"] = check_bool(spec.autapses, "autapses", o)
    for key, shape in (
        ("input_connectivity", (N_rec, N_in)),
        ("rec_connectivity", (N_rec, N_rec)),
        ("output_connectivity", (N_out, N_rec)),
    ):
        value = getattr(spec, key)
        v[key] = None if value is None else as_mask(value, key, o, shape=shape)
    v["constraints"] = _constraints(spec.constraints, N_in, N_rec, N_out, v["dale_ratio"])
    if not isinstance(spec.initializer_params, Mapping):
        raise TypeError(
            f"{o}: initializer_params must be a dict; received {describe(spec.initializer_params)}"
        )
    v["initializer_params"] = dict(spec.initializer_params)
    if not isinstance(spec.initializer, str | Initializer):
        raise TypeError(
            f"{o}: initializer must be a registered name or an Initializer instance; "
            f"received {describe(spec.initializer)}"
        )
    try:
        get_initializer(spec.initializer, **v["initializer_params"])
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{o}: initializer: {exc}") from exc
    v["loss"] = _loss(spec.loss)
    for key in REGULARIZATION_KEYS:
        v[key] = check_float(getattr(spec, key), key, o, low=0.0)
    v["custom_regularization"] = _callable_or_none(
        spec.custom_regularization, "custom_regularization"
    )
    for key in TRAIN_FLAGS:
        v[key] = check_bool(getattr(spec, key), key, o)
    v["train_tau"] = check_bool(spec.train_tau, "train_tau", o)
    v["tau_range"] = tau_range = _tau_range(spec.tau_range)
    v["dtype"] = check_choice(spec.dtype, "dtype", o, DTYPES)
    if v["train_tau"] and v["architecture"] != "rnn":
        raise ValueError(
            f"{o}: train_tau (per-unit time constants) is defined for architecture 'rnn' "
            f"only; received architecture={v['architecture']!r}"
        )
    if v["train_tau"] and v["tau"] is not None:
        if tau_range is None and v["dt"] is not None:
            if v["dt"] >= v["tau"]:
                raise ValueError(
                    f"{o}: train_tau without tau_range defaults to (dt, 10 * tau), which needs "
                    f"dt < tau; received dt={v['dt']}, tau={v['tau']}; give tau_range"
                )
            v["tau_range"] = tau_range = (v["dt"], 10.0 * v["tau"])
        if tau_range is not None and not tau_range[0] < v["tau"] < tau_range[1]:
            raise ValueError(
                f"{o}: with train_tau the task's tau must lie strictly inside tau_range "
                f"(the time constants start at tau); received tau={v['tau']}, "
                f"tau_range={tau_range}"
            )
    return v
