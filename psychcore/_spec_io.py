"""ModelSpec serialisation (dict / JSON) and import of PsychRNN parameter dictionaries.

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

import dataclasses
import importlib
import json
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._checks import describe, mask_to_json
from ._constraints import Constraint, constraint_from_dict
from ._init import Initializer, get_initializer
from ._spec import REGULARIZATION_KEYS, TRAIN_FLAGS, ModelSpec

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


def spec_to_dict(spec: ModelSpec) -> dict[str, Any]:
    """JSON-ready dict with one key per field (encoding in the module docstring)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if f.name in _MASKS:
            value = None if value is None else mask_to_json(value)
        elif f.name == "constraints":
            value = [c.to_dict() for c in value]
        elif f.name == "initializer":
            value = value.to_dict() if isinstance(value, Initializer) else value
        elif f.name == "initializer_params":
            value = dict(value)
        elif f.name in _CALLABLE_FIELDS and callable(value):
            value = {"callable": callable_ref(value, f.name)}
        elif f.name == "tau_range" and value is not None:
            value = list(value)
        out[f.name] = value
    return out


def spec_from_dict(d: Mapping[str, Any]) -> ModelSpec:
    """Rebuild a spec from :func:`spec_to_dict` output (partial dicts use the defaults).

    Raises:
        TypeError: If ``d`` is not a mapping.
        ValueError: For unknown keys (listed with the valid ones) or undecodable values.
    """
    if not isinstance(d, Mapping):
        raise TypeError(f"ModelSpec.from_dict: expected a dict; received {describe(d)}")
    valid = [f.name for f in dataclasses.fields(ModelSpec)]
    unknown = sorted(set(d) - set(valid))
    if unknown:
        raise ValueError(f"ModelSpec.from_dict: unknown key(s) {unknown}; valid keys: {valid}")
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
    return ModelSpec(**kwargs)


def spec_to_json(spec: ModelSpec, indent: int | None = 2) -> str:
    """JSON text of :func:`spec_to_dict`, one field per line (``indent=None``: one line).

    Raises:
        ValueError: If a callable cannot be referred to or a parameter is not JSON data.
    """
    d = spec_to_dict(spec)
    try:
        if indent is None:
            return json.dumps(d, allow_nan=False)
        # one line per field: readable, and long lists stay on their line
        pad = " " * indent
        items = (f"{pad}{json.dumps(k)}: {json.dumps(v, allow_nan=False)}" for k, v in d.items())
        return "{\n" + ",\n".join(items) + "\n}"
    except (TypeError, ValueError) as exc:
        raise ValueError(f"ModelSpec.to_json: a field is not JSON-serialisable: {exc}") from exc


def spec_from_json(text: str | bytes) -> ModelSpec:
    """Inverse of :func:`spec_to_json`."""
    if not isinstance(text, str | bytes):
        raise TypeError(f"ModelSpec.from_json: expected JSON text; received {describe(text)}")
    d = json.loads(text)
    if not isinstance(d, dict):
        raise ValueError(f"ModelSpec.from_json: expected a JSON object; received {describe(d)}")
    return spec_from_dict(d)


# -- PsychRNN -------------------------------------------------------------------------------

PSYCHRNN_TASK_KEYS = frozenset({"N_batch", "N_steps", "T", "alpha", "name"})
"""Task keys of ``get_task_params()`` that ``from_psychrnn`` ignores silently."""

PSYCHRNN_WEIGHT_KEYS = frozenset({
    "W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state", "Dale_rec", "Dale_out",
})
"""Weight arrays: not part of a spec (see ``psychcore._weights.psychrnn_weights``)."""

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


def spec_from_psychrnn(params: Mapping[str, Any], *, unknown: str = "warn") -> ModelSpec:
    """Build a spec from a PsychRNN parameter dictionary, as PsychRNN users write them.

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

    Ignored silently: the task keys ``N_batch``, ``N_steps``, ``T``, ``alpha``, ``name`` and
    the weight arrays (``W_in``, ``W_rec``, ... : use ``psychcore._weights.psychrnn_weights``).
    Any other key is ignored with one warning naming them (``unknown="ignore"``: silently,
    ``"error"``: ``ValueError``); ``load_weights_path`` warns to use ``load_weights``.

    ``dale_ratio=0``, which PsychRNN treated as "no Dale", raises the ``ValueError`` of
    :class:`ModelSpec` (use ``None``).

    Raises:
        TypeError: If ``params`` is not a mapping.
        ValueError: If ``N_rec`` is missing or a value is invalid.
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
    if "load_weights_path" in params:
        consumed.add("load_weights_path")
        warnings.warn(
            "ModelSpec.from_psychrnn: load_weights_path is not part of a spec; load the file "
            "with psychcore's load_weights(path)", stacklevel=3,
        )
    extra = sorted(str(k) for k in set(params) - consumed)
    if extra and unknown == "error":
        raise ValueError(f"ModelSpec.from_psychrnn: unknown PsychRNN key(s) {extra}")
    if extra and unknown == "warn":
        warnings.warn(
            f"ModelSpec.from_psychrnn: ignoring unknown PsychRNN key(s) {extra}", stacklevel=3
        )
    return ModelSpec(**kwargs)
