"""Saving, loading and checking weights dictionaries (format of docs/equations.md).

Files: ``save_weights("run/model", w, spec)`` writes ``run/model.npz`` and, with a spec,
``run/model.json`` beside it, each atomically, never overwriting unless asked. Files are read
with ``allow_pickle=False`` only.

PsychRNN files (``RNN.save()``: ``np.savez`` of ``get_weights()``) load too:

- keys containing ``"/"`` (optimiser slots such as ``W_rec/Adam``) are ignored;
- ``dale_ratio=None`` was saved as an object array that cannot be read without pickle; it,
  or a missing ``dale_ratio``, is inferred from ``Dale_rec``: the fraction of +1 on its
  diagonal when a -1 is present, NaN (no Dale) otherwise;
- ``dale_ratio=0``, which PsychRNN treated as "no Dale", loads as NaN (with a warning);
- ``Dale_out`` is kept as the file has it, even PsychRNN's default ±1 matrix (which lets
  inhibitory units reach the output), so that the loaded network reproduces PsychRNN's
  outputs exactly;
- missing optional keys get defaults (see :func:`validate_weights`).
"""

from __future__ import annotations

import os
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import check_choice, describe
from ._constraints import N_GATES
from ._io import atomic_savez, atomic_write_text
from ._spec import ModelSpec

REQUIRED_KEYS = ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")
OPTIONAL_KEYS = (
    "init_cell", "input_connectivity", "rec_connectivity", "output_connectivity",
    "Dale_rec", "Dale_out", "dale_ratio", "W_in_fixed", "W_rec_fixed", "W_out_fixed",
    "tau_raw", "dale_rectify", "dale_signed_in", "dale_signed_out",
)
WEIGHT_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS
TRAINABLE_ARRAYS = ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state", "init_cell",
                    "tau_raw")
"""The keys of the arrays a backend may train (the rest are structure)."""
PSYCHRNN_KEYS = (
    "W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state", "Dale_rec", "Dale_out",
    "input_connectivity", "rec_connectivity", "output_connectivity", "dale_ratio",
)
"""The key set of PsychRNN's ``RNN.save()`` files (basic rate RNN)."""


def _npz_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def infer_dale_ratio(Dale_rec: np.ndarray) -> float:
    """Fraction of +1 on the diagonal of ``Dale_rec`` if it holds a -1, otherwise NaN."""
    diag = np.diag(np.asarray(Dale_rec))
    return float(np.mean(diag > 0)) if np.any(diag < 0) else float("nan")


def infer_architecture(weights: Mapping[str, Any]) -> str:
    """``"rnn"``, ``"lstm"`` or ``"gru"`` from the shape of ``W_rec`` (``"rnn"`` if unclear)."""
    W_rec = np.asarray(weights.get("W_rec", np.zeros((1, 1))))
    if W_rec.ndim == 2 and W_rec.shape[1] and W_rec.shape[0] % W_rec.shape[1] == 0:
        gates = W_rec.shape[0] // W_rec.shape[1]
        for arch, G in N_GATES.items():
            if gates == G:
                return arch
    return "rnn"


def spec_from_weights(weights: Mapping[str, Any]) -> ModelSpec:
    """The (unbound) spec a weights dict without one describes, e.g. a PsychRNN file's.

    ``N_rec`` and the architecture come from ``W_rec`` (:func:`infer_architecture`),
    ``dale_ratio`` from the file's ``dale_ratio`` or ``Dale_rec``; the rest are
    ModelSpec's defaults, which are PsychRNN's (a ReLU rate RNN).
    """
    architecture = infer_architecture(weights)
    ratio = float("nan")
    if architecture == "rnn":  # validate_weights infers a missing ratio from Dale_rec
        ratio = float(validate_weights(weights, architecture)["dale_ratio"])
    return ModelSpec(N_rec=int(np.shape(weights["W_rec"])[1]), architecture=architecture,
                     dale_ratio=None if np.isnan(ratio) else ratio)


def _shape_error(key: str, expected: tuple, got: tuple, why: str = "") -> ValueError:
    return ValueError(
        f"validate_weights: {key} must have shape {expected}{why}; received shape {got}"
    )


def validate_weights(
    weights: Mapping[str, Any], architecture: str = "rnn"
) -> dict[str, np.ndarray]:
    """Check a weights dict against itself and fill the optional keys.

    Sizes come from ``W_rec`` (``N_rec``), ``W_in`` (``N_in``) and ``W_out`` (``N_out``);
    every other key is checked against them. ``init_state`` of shape ``(N_rec,)`` is
    reshaped to ``(1, N_rec)``; ``dale_ratio=None`` becomes NaN.

    Defaults: connectivity masks of ones; ``Dale_rec`` from ``dale_ratio`` (first
    ``round(ratio * N_rec)`` units +1) or identity; ``Dale_out`` = 1 where ``Dale_rec`` is
    +1, 0 where -1 (identity without Dale); ``dale_ratio`` inferred from ``Dale_rec``
    (:func:`infer_dale_ratio`); fixed masks of zeros; ``init_cell`` zeros (LSTM).

    Args:
        weights: The dict.
        architecture: ``"rnn"``, ``"lstm"`` or ``"gru"`` (sets the gate count ``G``).

    Returns:
        A new dict with every key of the format (``tau_raw`` only if given).

    Raises:
        TypeError: If ``weights`` is not a mapping or holds object arrays.
        ValueError: On unknown or missing keys, shapes or values that do not fit, NaN or
            infinite entries (``dale_ratio`` excepted: NaN means no Dale).
    """
    if not isinstance(weights, Mapping):
        raise TypeError(
            f"validate_weights: expected a dict of arrays; received {describe(weights)}"
        )
    architecture = check_choice(architecture, "architecture", "validate_weights", tuple(N_GATES))
    unknown = sorted(set(weights) - set(WEIGHT_KEYS))
    if unknown:
        raise ValueError(
            f"validate_weights: unknown key(s) {unknown}; valid keys: {list(WEIGHT_KEYS)}"
        )
    missing = [k for k in REQUIRED_KEYS if k not in weights]
    if missing:
        raise ValueError(f"validate_weights: missing required key(s) {missing}")
    w: dict[str, np.ndarray] = {}
    for key, value in weights.items():
        if key == "dale_ratio" and value is None:
            value = np.nan
        arr = np.asarray(value)
        if arr.dtype == np.bool_:
            arr = arr.astype(np.float64)
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(
                f"validate_weights: {key} must be a numeric array; received dtype {arr.dtype}"
            )
        if key != "dale_ratio" and not np.all(np.isfinite(arr)):
            n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
            found = " and ".join(f"{n} {what}" for n, what in ((n_nan, "NaN"), (n_inf, "infinite"))
                                 if n)
            raise ValueError(
                f"validate_weights: {key} has {found} entries (of {arr.size}); weights must be "
                "finite (a network with a NaN weight outputs NaN everywhere)"
            )
        w[key] = arr
    G = N_GATES[architecture]
    W_rec = w["W_rec"]
    if W_rec.ndim != 2 or W_rec.shape[0] != G * W_rec.shape[1]:
        raise _shape_error("W_rec", ("G*N_rec", "N_rec"), W_rec.shape,
                           f" with G={G} for architecture {architecture!r}")
    N_rec = W_rec.shape[1]
    for key in ("W_in", "W_out"):
        if w[key].ndim != 2:
            raise _shape_error(key, ("?", "?"), w[key].shape, " (2-D)")
    N_in, N_out = w["W_in"].shape[1], w["W_out"].shape[0]
    if w["init_state"].shape == (N_rec,):
        w["init_state"] = w["init_state"].reshape(1, N_rec)
    expected = {
        "W_in": (G * N_rec, N_in), "W_out": (N_out, N_rec), "b_rec": (G * N_rec,),
        "b_out": (N_out,), "init_state": (1, N_rec), "init_cell": (1, N_rec),
        "input_connectivity": (N_rec, N_in), "rec_connectivity": (N_rec, N_rec),
        "output_connectivity": (N_out, N_rec), "Dale_rec": (N_rec, N_rec),
        "Dale_out": (N_rec, N_rec), "dale_ratio": (), "W_in_fixed": (G * N_rec, N_in),
        "W_rec_fixed": (G * N_rec, N_rec), "W_out_fixed": (N_out, N_rec), "tau_raw": (N_rec,),
        "dale_rectify": (), "dale_signed_in": (), "dale_signed_out": (),
    }
    for key, shape in expected.items():
        if key in w and w[key].shape != shape:
            why = f" (N_rec={N_rec}, N_in={N_in}, N_out={N_out}, G={G})"
            raise _shape_error(key, shape, w[key].shape, why)
    if "init_cell" in w and architecture != "lstm":
        raise ValueError(f"validate_weights: init_cell is for 'lstm' only; architecture is "
                         f"{architecture!r}")
    _fill_defaults(w, architecture, N_rec, N_in, N_out)
    _check_values(w)
    return {k: w[k] for k in WEIGHT_KEYS if k in w}


def _fill_defaults(w: dict[str, np.ndarray], architecture: str, N_rec: int, N_in: int,
                   N_out: int) -> None:
    dtype = w["W_rec"].dtype if np.issubdtype(w["W_rec"].dtype, np.floating) else np.float64
    G = N_GATES[architecture]
    defaults = {
        "input_connectivity": lambda: np.ones((N_rec, N_in)),
        "rec_connectivity": lambda: np.ones((N_rec, N_rec)),
        "output_connectivity": lambda: np.ones((N_out, N_rec)),
        "W_in_fixed": lambda: np.zeros((G * N_rec, N_in)),
        "W_rec_fixed": lambda: np.zeros((G * N_rec, N_rec)),
        "W_out_fixed": lambda: np.zeros((N_out, N_rec)),
    }
    if architecture == "lstm":
        defaults["init_cell"] = lambda: np.zeros((1, N_rec))
    for key, make in defaults.items():
        if key not in w:
            w[key] = make().astype(dtype)
    if "Dale_rec" not in w:
        signs = np.ones(N_rec)
        ratio = float(w["dale_ratio"]) if "dale_ratio" in w else float("nan")
        if np.isfinite(ratio):
            signs[round(ratio * N_rec):] = -1.0
        w["Dale_rec"] = np.diag(signs).astype(dtype)
    if "Dale_out" not in w:
        w["Dale_out"] = np.diag((np.diag(w["Dale_rec"]) > 0).astype(dtype))
    if "dale_ratio" not in w:
        w["dale_ratio"] = np.array(infer_dale_ratio(w["Dale_rec"]), dtype=dtype)


def _check_values(w: dict[str, np.ndarray]) -> None:
    for key in ("input_connectivity", "rec_connectivity", "output_connectivity",
                "W_in_fixed", "W_rec_fixed", "W_out_fixed"):
        if not np.all((w[key] == 0) | (w[key] == 1)):
            raise ValueError(f"validate_weights: {key} must contain only 0 and 1")
    for key, allowed in (("Dale_rec", (-1, 1)), ("Dale_out", (-1, 0, 1))):
        D = w[key]
        off = D - np.diag(np.diag(D))
        if np.any(off != 0) or not np.all(np.isin(np.diag(D), allowed)):
            raise ValueError(
                f"validate_weights: {key} must be a diagonal matrix with diagonal values in "
                f"{allowed}"
            )
    for key in ("dale_rectify", "dale_signed_in", "dale_signed_out"):
        if key in w and float(w[key]) not in (0.0, 1.0):
            raise ValueError(f"validate_weights: {key} must be 0 or 1; received {float(w[key])}")
    ratio = float(w["dale_ratio"])
    if not np.isnan(ratio) and not 0 < ratio <= 1:
        raise ValueError(f"validate_weights: dale_ratio must be NaN or in (0, 1]; received {ratio}")


def save_weights(
    path: str | os.PathLike,
    weights: Mapping[str, Any],
    spec: ModelSpec | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Save ``weights`` to ``<path>.npz`` and, with a spec, its JSON to ``<path>.json``.

    ``.npz`` is appended when missing. The dict is validated (against ``spec`` when given:
    architecture and sizes) and saved completed with the defaults of
    :func:`validate_weights`. Both files are written atomically. Saving without a spec over
    an existing pair with ``overwrite=True`` removes the old JSON, so that the old spec is
    never read with the new weights.

    Returns:
        The ``.npz`` path.

    Raises:
        FileExistsError: If either file exists and ``overwrite`` is false.
        TypeError: If ``spec`` is not a ModelSpec.
        ValueError: If the weights are invalid or do not match the spec.
    """
    if spec is not None and not isinstance(spec, ModelSpec):
        raise TypeError(
            f"save_weights: spec must be a ModelSpec or None; received {describe(spec)}"
        )
    npz_path = _npz_path(path)
    json_path = npz_path.with_suffix(".json")
    architecture = spec.architecture if spec is not None else infer_architecture(weights)
    w = validate_weights(weights, architecture)
    if spec is not None:
        _check_against_spec(w, spec)
    text = spec.to_json() if spec is not None else None
    if not overwrite:
        for p in (npz_path, json_path):
            if p.exists():
                raise FileExistsError(
                    f"save_weights: {p} already exists; psychcore never overwrites a saved file "
                    "silently. Choose another path or pass overwrite=True."
                )
    atomic_savez(npz_path, w, overwrite=overwrite)
    if text is not None:
        atomic_write_text(json_path, text, overwrite=overwrite)
    elif json_path.exists():
        json_path.unlink()
    return npz_path


def _check_against_spec(w: dict[str, np.ndarray], spec: ModelSpec) -> None:
    sizes = {"N_rec": w["W_rec"].shape[1], "N_in": w["W_in"].shape[1],
             "N_out": w["W_out"].shape[0]}
    for key, got in sizes.items():
        want = getattr(spec, key)
        if want is not None and want != got:
            raise ValueError(f"save_weights: the weights have {key}={got}, the spec {key}={want}")


def load_weights(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], ModelSpec | None]:
    """Load a weights file (psychcore's or PsychRNN's) and the spec JSON beside it.

    Args:
        path: The ``.npz`` file (the suffix may be left out).

    Returns:
        ``(weights, spec)``: the validated, completed weights dict and the spec read from
        ``<path>.json`` (``None`` when there is none).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If an array other than PsychRNN's ``dale_ratio`` needs pickle, or the
            weights are invalid.
    """
    p = Path(path)
    if not p.exists() and p.suffix != ".npz" and _npz_path(p).exists():
        p = _npz_path(p)
    if not p.exists():
        raise FileNotFoundError(f"load_weights: no weights file at {p}")
    raw = _read_npz(p)
    if "dale_ratio" in raw and raw["dale_ratio"].shape == () and raw["dale_ratio"] == 0:
        warnings.warn(
            f"load_weights: {p} has dale_ratio=0, which PsychRNN treated as 'no Dale'; "
            "loading it as NaN (Dale's principle off)", stacklevel=2,
        )
        raw["dale_ratio"] = np.array(np.nan)
    json_path = p.with_suffix(".json")
    spec = ModelSpec.from_file(json_path) if json_path.exists() else None
    architecture = spec.architecture if spec is not None else infer_architecture(raw)
    try:
        return validate_weights(raw, architecture), spec
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"load_weights: {p}: {exc}") from exc


def _read_npz(p: Path) -> dict[str, Any]:
    """The arrays of the ``.npz`` file ``p`` (PsychRNN's pickled ``dale_ratio=None`` skipped).

    Raises:
        ValueError: If ``p`` is a directory or not an ``.npz`` archive (naming what it is), or
            an array needs pickle.
    """
    expected = "expected an .npz archive of weight arrays (np.savez, Model.save)"
    if p.is_dir():
        raise ValueError(f"load_weights: {p} is a directory; {expected}")
    with p.open("rb") as f:
        head = f.read(6)
    if head == b"\x93NUMPY":
        raise ValueError(f"load_weights: {p} is a single-array .npy file; {expected}, "
                         "one array per key (W_in, W_rec, ...)")
    if not head.startswith(b"PK"):
        what = "empty" if not head else "not a zip archive (text or another format?)"
        raise ValueError(f"load_weights: {p} is {what}; {expected}")
    raw: dict[str, Any] = {}
    try:
        with np.load(p, allow_pickle=False) as npz:
            for key in npz.files:
                if "/" in key:
                    continue
                try:
                    raw[key] = npz[key]
                except ValueError as exc:
                    if key == "dale_ratio":
                        continue  # PsychRNN's dale_ratio=None: inferred from Dale_rec
                    raise ValueError(
                        f"load_weights: {p}: {key!r} is an object array that needs pickle; "
                        "psychcore never unpickles files"
                    ) from exc
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ValueError(f"load_weights: {p} is damaged (truncated or corrupt: {exc}); "
                         f"{expected}") from exc
    return raw


def write_psychrnn_weights(
    path: str | os.PathLike, weights: Mapping[str, Any], *, overwrite: bool = False
) -> Path:
    """Write a rate-RNN weights dict in PsychRNN's ``RNN.save()`` format.

    The file holds exactly :data:`PSYCHRNN_KEYS`. ``dale_ratio`` is written as a float when
    Dale's principle is on and left out when it is off (PsychRNN then reads ``None``; a NaN
    would read as "on" there). Fixed masks are not part of PsychRNN's file (they were a
    training option): non-zero ones are dropped with a warning.

    Returns:
        The ``.npz`` path.

    Raises:
        ValueError: If the weights are not a valid ``"rnn"`` dict or hold ``tau_raw``
            (PsychRNN has no per-unit time constants) or Dale options other than
            PsychRNN's (``dale_rectify``, ``dale_signed_in``, ``dale_signed_out`` set to 1).
    """
    w = validate_weights(weights, "rnn")
    if "tau_raw" in w:
        raise ValueError(
            "write_psychrnn_weights: tau_raw (trainable time constants) has no PsychRNN "
            "equivalent"
        )
    options = [k for k in ("dale_rectify", "dale_signed_in", "dale_signed_out")
               if k in w and float(w[k]) != 0.0 and not np.isnan(float(w["dale_ratio"]))]
    if options:
        raise ValueError(
            f"write_psychrnn_weights: the Dale options {options} (relu rectification, signed "
            "inputs or readout) have no PsychRNN equivalent: PsychRNN would read the file "
            "with |W| everywhere and compute other outputs"
        )
    dropped = [k for k in ("W_in_fixed", "W_rec_fixed", "W_out_fixed") if np.any(w[k])]
    if dropped:
        warnings.warn(f"write_psychrnn_weights: dropping fixed masks {dropped}", stacklevel=2)
    out = {k: w[k] for k in PSYCHRNN_KEYS if k != "dale_ratio"}
    if not np.isnan(float(w["dale_ratio"])):
        out["dale_ratio"] = np.array(float(w["dale_ratio"]))
    return atomic_savez(_npz_path(path), out, overwrite=overwrite)


def psychrnn_weights(params: Mapping[str, Any]) -> dict[str, np.ndarray] | None:
    """The weight arrays found in a PsychRNN parameter dict, or ``None`` if it has none.

    Returns the keys of :data:`PSYCHRNN_KEYS` (and psychcore's other :data:`WEIGHT_KEYS`,
    as ``Model.get_weights()`` gives them) present in ``params`` as arrays
    (``init_state`` as ``(1, N_rec)``, ``dale_ratio=None`` as NaN), nothing else; it is
    ``None`` when no trainable array (``W_*``, ``b_*``, ``init_state``) is present. Fill the
    rest from a fresh initialisation, as PsychRNN did:
    ``{**initialize_weights(spec, rng), **psychrnn_weights(params)}``.

    Raises:
        TypeError: If ``params`` is not a mapping or an array is not numeric.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"psychrnn_weights: expected a dict; received {describe(params)}")
    if not any(k in params for k in REQUIRED_KEYS):
        return None
    out: dict[str, np.ndarray] = {}
    for key in WEIGHT_KEYS:
        if key not in params:
            continue
        value = params[key]
        if key == "dale_ratio" and value is None:
            value = np.nan
        arr = np.array(value)
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"psychrnn_weights: {key} must be numeric; received {describe(value)}")
        if key == "init_state":
            arr = arr.reshape(1, -1)
        out[key] = arr
    return out


def psychrnn_network(
    params: Mapping[str, Any], spec: ModelSpec | None, weights: Any
) -> tuple[ModelSpec, Any, dict[str, np.ndarray] | None]:
    """What ``Model(params)`` builds from a PsychRNN params dict: the spec and initial weights.

    The spec is ``spec`` when given, else :meth:`ModelSpec.from_psychrnn` of ``params`` with
    unknown keys refused (a misspelt ``dale_raito`` would otherwise build a network without
    Dale's principle). Initial weights follow PsychRNN's precedence: the ``weights`` argument
    (psychcore's), else the file of ``load_weights_path`` (PsychRNN ignored the arrays of the
    dict then; so does this, with a warning), else the arrays of the dict
    (:func:`psychrnn_weights`), completed from a fresh initialisation as PsychRNN's
    ``WeightInitializer`` did.

    Args:
        params: The params dict (task keys and network keys).
        spec: The spec given to Model, or None.
        weights: The ``weights`` given to Model, or None.

    Returns:
        ``(spec, weights, partial)``: the unbound spec, the weights argument or the path to
        load (None to initialise), and the arrays of the dict to put over the initialisation
        (None when there are none).

    Raises:
        ValueError: For unknown, misspelt or refused keys (see ``from_psychrnn``).
        TypeError: If a weight array of the dict is not numeric.
    """
    if spec is None:
        spec = ModelSpec.from_psychrnn(params, unknown="error", weights_read=True)
    partial = psychrnn_weights(params)
    if weights is not None:
        return spec, weights, None
    path = params.get("load_weights_path")
    if path is not None:
        if partial is not None:
            warnings.warn(
                f"the params dict has both load_weights_path and weight arrays "
                f"{sorted(partial)}; the file is used and the arrays are ignored, as in "
                "PsychRNN", stacklevel=3,
            )
        return spec, path, None
    return spec, None, partial
