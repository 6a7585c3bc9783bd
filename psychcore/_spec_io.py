"""The field codec of ModelSpec (dict / JSON) and the mapping of PsychRNN parameter dictionaries.

This module works on field values (name -> value), never on the ModelSpec class: the spec
(:mod:`psychcore._spec`) sits above it and builds itself from what these functions return
(``ModelSpec.to_dict``, ``from_dict``, ``to_json``, ``from_json``, ``from_psychrnn``).

JSON encoding of the fields that are not plain JSON values:

- connectivity masks (and the arrays of constraints): nested lists of 0/1 ints, or, above
  4096 entries, ``{"shape": [rows, cols], "packbits": <base64 of numpy.packbits>}``;
- ``constraints``: list of ``Constraint.to_dict()`` (each with a ``"type"`` key);
- ``initializer``: the name, or ``Initializer.to_dict()`` for an instance;
- ``loss`` / ``custom_regularization`` callables: ``{"callable": "module:qualname"}``,
  re-imported on load (lambdas and local functions cannot be referred to and raise
  ``ValueError`` naming the field);
- ``tau_range``: a two-element list.
"""

from __future__ import annotations

import difflib
import importlib
import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import describe, mask_to_json
from ._constraints import Constraint, constraint_from_dict
from ._initializers import Initializer, get_initializer

# Groups of ModelSpec fields (psychcore._spec validates them; the codec and the PsychRNN
# mapping below are written in terms of them).
TRAINABLE_KEYS = ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")
REGULARIZATION_KEYS = ("L1_in", "L1_rec", "L1_out", "L2_in", "L2_rec", "L2_out", "L2_firing_rate")
TRAIN_FLAGS = tuple(f"{k}_train" for k in TRAINABLE_KEYS)

_MASKS = ("input_connectivity", "rec_connectivity", "output_connectivity")
_CALLABLE_FIELDS = ("loss", "custom_regularization")


def callable_ref(obj: Callable, field: str) -> str:
    """``"module:qualname"`` of an importable function.

    Raises:
        ValueError: For a lambda, a local function, or anything that the reference does not
            import back to the same object.
    """
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname:
        raise ValueError(
            f"ModelSpec: {field} must be a module-level function to be serialised; "
            f"received {describe(obj)} (no __module__/__qualname__)"
        )
    if "<lambda>" in qualname or "<locals>" in qualname:
        raise ValueError(
            f"ModelSpec: {field} is {qualname!r} in {module!r}, a lambda or local function, "
            "which cannot be saved to JSON; define it at module level so it can be imported "
            "as module:qualname"
        )
    ref = f"{module}:{qualname}"
    try:
        back = resolve_callable(ref, field)
    except ValueError as exc:
        raise ValueError(f"ModelSpec: {field} cannot be re-imported as {ref!r}") from exc
    if back is not obj:
        raise ValueError(
            f"ModelSpec: {field}: importing {ref!r} gives another object than the one given"
        )
    return ref


def resolve_callable(ref: str, field: str) -> Callable:
    """Import ``"module:qualname"``.

    Raises:
        ValueError: If the reference is malformed or cannot be imported.
    """
    if not isinstance(ref, str) or ref.count(":") != 1:
        raise ValueError(
            f"ModelSpec: {field}: expected a 'module:qualname' reference; received {ref!r}"
        )
    module_name, qualname = ref.split(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"ModelSpec: {field}: cannot import {ref!r}: {exc}") from exc
    if not callable(obj):
        raise ValueError(f"ModelSpec: {field}: {ref!r} is not callable")
    return obj


def encode_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-ready dict of a spec's fields, name -> value (encoding in the module docstring)."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name in _MASKS:
            value = None if value is None else mask_to_json(value)
        elif name == "constraints":
            value = [c.to_dict() for c in value]
        elif name == "initializer":
            value = value.to_dict() if isinstance(value, Initializer) else value
        elif name == "initializer_params":
            value = dict(value)
        elif name in _CALLABLE_FIELDS and callable(value):
            value = {"callable": callable_ref(value, name)}
        elif name == "tau_range" and value is not None:
            value = list(value)
        out[name] = value
    return out


def decode_fields(d: Mapping[str, Any], valid: Sequence[str]) -> dict[str, Any]:
    """The constructor arguments encoded by :func:`encode_fields` (a partial dict gives part).

    Args:
        d: Field name -> encoded value.
        valid: The spec's field names.

    Raises:
        TypeError: If ``d`` is not a mapping.
        ValueError: For unknown keys (listed with the valid ones) or undecodable values.
    """
    if not isinstance(d, Mapping):
        raise TypeError(f"ModelSpec.from_dict: expected a dict; received {describe(d)}")
    valid = list(valid)
    unknown = sorted(set(d) - set(valid), key=str)
    if unknown:
        hints = "".join(f" (did you mean {m[0]!r} for {k!r}?)" for k in unknown
                        if (m := difflib.get_close_matches(str(k), valid, n=1, cutoff=0.75)))
        raise ValueError(f"ModelSpec.from_dict: unknown key(s) {unknown}{hints}; valid keys: "
                         f"{valid}")
    kwargs = dict(d)
    if "constraints" in kwargs:
        cons = kwargs["constraints"]
        if not isinstance(cons, list | tuple):
            raise TypeError(
                f"ModelSpec.from_dict: constraints must be a list; received {describe(cons)}"
            )
        kwargs["constraints"] = tuple(
            c if isinstance(c, Constraint) else constraint_from_dict(c) for c in cons
        )
    if isinstance(kwargs.get("initializer"), Mapping):
        kwargs["initializer"] = get_initializer(dict(kwargs["initializer"]))
    for name in _CALLABLE_FIELDS:
        value = kwargs.get(name)
        if isinstance(value, Mapping):
            if set(value) != {"callable"}:
                raise ValueError(
                    f"ModelSpec.from_dict: {name} must be a name or {{'callable': "
                    f"'module:qualname'}}; received keys {sorted(value)}"
                )
            kwargs[name] = resolve_callable(value["callable"], name)
    if isinstance(kwargs.get("tau_range"), list):
        kwargs["tau_range"] = tuple(kwargs["tau_range"])
    return kwargs


def fields_to_json(d: Mapping[str, Any], indent: int | None = 2) -> str:
    """JSON text of :func:`encode_fields` output, one field per line (``indent=None``: one
    line).

    Raises:
        ValueError: If a parameter is not JSON data.
    """
    try:
        if indent is None:
            return json.dumps(d, allow_nan=False)
        # one line per field: readable, and long lists stay on their line
        pad = " " * indent
        items = (f"{pad}{json.dumps(k)}: {json.dumps(v, allow_nan=False)}" for k, v in d.items())
        return "{\n" + ",\n".join(items) + "\n}"
    except (TypeError, ValueError) as exc:
        raise ValueError(f"ModelSpec.to_json: a field is not JSON-serialisable: {exc}") from exc


def json_to_fields(text: str | bytes) -> dict[str, Any]:
    """The encoded fields in JSON text (inverse of :func:`fields_to_json`; decode them with
    :func:`decode_fields`).

    Raises:
        TypeError: If ``text`` is not str or bytes.
        ValueError: If it is not a JSON object.
    """
    if not isinstance(text, str | bytes):
        raise TypeError(f"ModelSpec.from_json: expected JSON text; received {describe(text)}")
    d = parse_json(text, "ModelSpec.from_json: the text")
    if not isinstance(d, dict):
        raise ValueError(f"ModelSpec.from_json: expected a JSON object; received {describe(d)}")
    return d


def parse_json(text: str | bytes, source: str) -> Any:
    """``json.loads(text)``, with a message naming ``source`` and where the JSON breaks.

    Raises:
        ValueError: If ``text`` is not JSON (``json.JSONDecodeError`` is a ValueError).
    """
    try:
        return json.loads(text)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{source} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                         "expected JSON") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column "
                         f"{exc.colno}") from exc


def read_json_file(path: str | os.PathLike, what: str, *, object_only: bool = True) -> Any:
    """The JSON value in the file ``path``, read with messages that name the file.

    Args:
        path: The file.
        what: What the file should hold, for messages (``"a ModelSpec JSON file"``).
        object_only: Refuse anything but a JSON object (``{...}``).

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: If ``path`` is a directory, not UTF-8 JSON, or not an object when one is
            expected.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist; expected {what}")
    if p.is_dir():
        raise ValueError(f"{p} is a directory; expected {what}")
    value = parse_json(p.read_bytes(), f"{p} ({what})")
    if object_only and not isinstance(value, dict):
        kind = {list: "a JSON list", str: "a JSON string", type(None): "null"}.get(
            type(value), f"a JSON {type(value).__name__}")
        raise ValueError(f"{p} holds {kind}; expected {what}: a JSON object {{\"key\": value, "
                         "...}")
    return value


# -- PsychRNN -------------------------------------------------------------------------------

PSYCHRNN_TASK_KEYS = frozenset({"N_batch", "N_steps", "T", "alpha", "name"})
"""Task keys of ``get_task_params()`` that ``from_psychrnn`` ignores silently."""

PSYCHRNN_WEIGHT_KEYS = frozenset({
    "W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state", "Dale_rec", "Dale_out",
    "W_in_fixed", "W_rec_fixed", "W_out_fixed", "init_cell", "tau_raw",
})
"""Weight arrays (PsychRNN's, and psychcore's ``get_weights()`` keys): not part of a spec (see
``psychcore._weights.psychrnn_weights``)."""

_DIRECT_KEYS = frozenset({
    "N_rec", "N_in", "N_out", "dt", "tau", "rec_noise", "dale_ratio", "autapses",
    *_MASKS, *TRAIN_FLAGS, *REGULARIZATION_KEYS, "custom_regularization",
})
_INIT_KEYS = frozenset({
    "which_rand_init", "which_rand_W_rec_init", "init_minval", "init_maxval", "spec_rad",
    "initializer",
})
_TRANSFER_NAMES = {
    "relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "softplus": "softplus",
    "linear": "linear", "identity": "linear",
}
_PSYCHRNN_W_REC_RULES = {
    "glorot_gauss": "glorot_normal", "glorot_unif": "glorot_uniform",
    "const_unif": "const_uniform", "const_gauss": "const_normal",
}


def _transfer_name(value: Any) -> str:
    name = value if isinstance(value, str) else getattr(value, "__name__", None)
    if name not in _TRANSFER_NAMES:
        raise ValueError(
            "ModelSpec.from_psychrnn: transfer_function must be one of (or a function named) "
            f"{sorted(_TRANSFER_NAMES)}; received {name or describe(value)!r}"
        )
    return _TRANSFER_NAMES[name]


def _psychrnn_initializer(params: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(initializer, initializer_params) from PsychRNN's initialiser keys."""
    shared = {k: params[k] for k in ("which_rand_init", "init_minval", "init_maxval")
              if k in params}
    obj = params.get("initializer")
    if obj is not None:
        if isinstance(obj, str | Initializer):
            return obj, ({} if isinstance(obj, Initializer) else shared)
        kind = type(obj).__name__
        if kind == "GaussianSpectralRadius":
            return "gaussian_spectral_radius", {**shared,
                                                "spec_rad": getattr(obj, "spec_rad", 1.1)}
        if kind == "AlphaIdentity":
            return "alpha_identity", {**shared, "alpha": obj.alpha}
        raise ValueError(
            "ModelSpec.from_psychrnn: initializer must be a psychcore initializer name or "
            f"object, or PsychRNN's GaussianSpectralRadius / AlphaIdentity; received {kind}"
        )
    rule = params.get("which_rand_W_rec_init")
    if rule is not None:
        name = _PSYCHRNN_W_REC_RULES.get(rule, rule)
        extra = {}
        if name == "const_uniform":
            extra = {k: params[f"init_{k}"] for k in ("minval", "maxval")
                     if f"init_{k}" in params}
        if "spec_rad" in params:
            warnings.warn(
                "ModelSpec.from_psychrnn: spec_rad is ignored because which_rand_W_rec_init "
                f"selects the {name!r} initializer", stacklevel=3,
            )
        return name, {**shared, **extra}
    if "spec_rad" in params:
        shared["spec_rad"] = params["spec_rad"]
    return "gaussian_spectral_radius", shared


def psychrnn_kwargs(
    params: Mapping[str, Any], *, unknown: str = "warn", weights_read: bool = False
) -> dict[str, Any]:
    """ModelSpec arguments from a PsychRNN parameter dictionary, as PsychRNN users write them.

    Mapping: the keys of ``ModelSpec`` with PsychRNN names map directly (``N_rec``,
    ``rec_noise``, ``dale_ratio``, ``autapses``, the masks, ``*_train`` flags, ``L1_*``,
    ``L2_*``, ``custom_regularization``, and ``N_in``, ``N_out``, ``dt``, ``tau``, which bind
    the spec); ``loss_function`` -> ``loss`` (a custom name whose function is stored under
    that name in the dict, PsychRNN's convention, becomes the callable);
    ``transfer_function`` may be a function (``tf.nn.relu``: mapped by ``__name__``) or a
    name. Initialiser keys: an ``initializer`` (psychcore name/object, or PsychRNN's
    ``GaussianSpectralRadius`` / ``AlphaIdentity`` object, read through its ``spec_rad`` /
    ``alpha``); otherwise ``which_rand_W_rec_init`` selects the matching psychcore
    initialiser; otherwise ``gaussian_spectral_radius`` with ``spec_rad``.
    ``which_rand_init``, ``init_minval``, ``init_maxval`` pass on to the initialiser.

    Ignored silently: the task keys ``N_batch``, ``N_steps``, ``T``, ``alpha``, ``name``, every
    key a task put in the dict (:meth:`psychcore.Task.get_task_params` returns a dict that
    remembers them, even after network keys are added to it), ``load_weights_path`` and the
    weight arrays (``W_in``, ``W_rec``, ...: read by ``psychcore._weights.psychrnn_network``,
    which :class:`psychcore.Model` uses). Always refused, because dropping them would build
    another network than the one asked for: ``architecture`` and the other ModelSpec fields
    PsychRNN had no key for, ``fixed_weights`` and the other training options. A key close to
    a known one (``dale_raito``) is a typo: refused with a did-you-mean unless
    ``unknown="ignore"``. Any other key is unknown: one warning naming them
    (``unknown="ignore"``: silently, ``"error"``: ``ValueError``); in a plain dict that
    looks like ``get_task_params()`` (it has ``N_batch``, ``N_steps``, ``T`` and ``alpha``)
    they are taken for the task's parameters, with a warning unless ``unknown="ignore"``.

    ``weights_read``: the caller reads ``load_weights_path`` itself; without it, the key is
    warned about (a spec holds no weights).

    ``ModelSpec.from_psychrnn`` validates the values by building the spec: ``dale_ratio=0``,
    which PsychRNN treated as "no Dale", raises its ``ValueError`` (use ``None``).

    Returns:
        ModelSpec keyword arguments.

    Raises:
        TypeError: If ``params`` is not a mapping.
        ValueError: If ``N_rec`` is missing, ``unknown`` is not one of its three values, a key
            is refused, or a transfer function or initialiser is not recognised.
    """
    if not isinstance(params, Mapping):
        raise TypeError(
            f"ModelSpec.from_psychrnn: expected a PsychRNN params dict; received {describe(params)}"
        )
    if unknown not in ("warn", "ignore", "error"):
        raise ValueError(
            "ModelSpec.from_psychrnn: unknown must be 'warn', 'ignore' or 'error'; "
            f"received {unknown!r}"
        )
    if "N_rec" not in params:
        raise ValueError("ModelSpec.from_psychrnn: the params dict has no 'N_rec'")
    kwargs: dict[str, Any] = {k: params[k] for k in _DIRECT_KEYS if k in params}
    if isinstance(kwargs.get("dale_ratio"), np.ndarray):
        kwargs["dale_ratio"] = kwargs["dale_ratio"].item()
    ratio = kwargs.get("dale_ratio")
    if isinstance(ratio, float) and ratio != ratio:  # NaN: "no Dale" in a weights dict
        kwargs["dale_ratio"] = None
    consumed = set(_DIRECT_KEYS) | _INIT_KEYS | PSYCHRNN_TASK_KEYS | PSYCHRNN_WEIGHT_KEYS
    if "transfer_function" in params:
        kwargs["transfer_function"] = _transfer_name(params["transfer_function"])
        consumed.add("transfer_function")
    loss = params.get("loss_function")
    consumed.add("loss_function")
    if loss is not None:
        if isinstance(loss, str) and callable(params.get(loss)):
            consumed.add(loss)
            loss = params[loss]
        kwargs["loss"] = loss
    kwargs["initializer"], kwargs["initializer_params"] = _psychrnn_initializer(params)
    consumed.add("load_weights_path")
    if "load_weights_path" in params and not weights_read:
        warnings.warn(
            "ModelSpec.from_psychrnn: load_weights_path is not part of a spec; load the file "
            "with psychcore's load_weights(path) (Model(params) reads it)", stacklevel=3,
        )
    _check_unknown(params, consumed, unknown)
    return kwargs


def _check_unknown(params: Mapping[str, Any], consumed: set[str], unknown: str) -> None:
    """Refuse, warn about or ignore the keys of ``params`` outside ``consumed``."""
    extra = sorted(str(k) for k in set(params) - consumed)
    task_keys = getattr(params, "task_keys", None)
    if task_keys is not None:  # a Task.get_task_params() dict: its own keys are known
        extra = [k for k in extra if k not in task_keys]
    for key in extra:
        if key in _REFUSED:
            raise ValueError(f"ModelSpec.from_psychrnn: params[{key!r}]: {_REFUSED[key]}")
    if unknown != "ignore":
        known = sorted(consumed | set(_REFUSED))
        typos = {k: difflib.get_close_matches(k, known, n=1, cutoff=0.8) for k in extra}
        typos = {k: m[0] for k, m in typos.items() if m}
        if typos:
            hints = "; ".join(f"{k!r} (did you mean {m!r}?)" for k, m in typos.items())
            raise ValueError(f"ModelSpec.from_psychrnn: unknown PsychRNN key(s) {hints}; a "
                             "misspelt key would be ignored and the network built without it")
    if not extra or unknown == "ignore":
        return
    if task_keys is None and set(params) >= _TASK_SIGNATURE:
        warnings.warn(
            f"ModelSpec.from_psychrnn: taking key(s) {extra} for the task's parameters (not "
            "network keys); pass task.get_task_params() itself to silence this", stacklevel=4,
        )
        return
    if unknown == "error":
        raise ValueError(f"ModelSpec.from_psychrnn: unknown PsychRNN key(s) {extra}; valid "
                         f"network keys: {sorted(_NETWORK_KEYS)}")
    warnings.warn(f"ModelSpec.from_psychrnn: ignoring unknown PsychRNN key(s) {extra}",
                  stacklevel=4)


_NETWORK_KEYS = _DIRECT_KEYS | _INIT_KEYS | {"transfer_function", "loss_function"}
_TASK_SIGNATURE = frozenset({"N_batch", "N_steps", "T", "alpha"})
_TRAINING_OPTIONS = (
    "training_iters", "learning_rate", "loss_epoch", "verbosity", "save_weights_path",
    "save_training_weights_epoch", "training_weights_path", "curriculum", "optimizer",
    "clip_grads", "fixed_weights", "performance_cutoff", "performance_measure",
)
_REFUSED = {
    "architecture": "PsychRNN chose the architecture by class (Basic, LSTM), not by a key; "
                    "use Model(task, ModelSpec(architecture=...))",
    **{k: f"{k!r} is a ModelSpec field, not a PsychRNN key; use Model(task, ModelSpec({k}=...))"
       for k in ("loss", "initializer_params", "constraints", "dtype", "train_tau",
                 "tau_range")},
    **{k: f"{k!r} is a training option (PsychRNN's train_params), not a network key; pass it "
          f"to model.train(task, {{{k!r}: ...}})" for k in _TRAINING_OPTIONS},
}
_REFUSED["fixed_weights"] = ("fixed weights are part of the network in psychcore, not a key "
                             "of the params dict nor a training option; use "
                             "ModelSpec(constraints=[FixedWeights(W_rec=mask, ...)])")
