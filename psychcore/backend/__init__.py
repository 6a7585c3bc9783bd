"""The backend kit: everything a training backend needs that is not framework arithmetic.

A backend author subclasses :class:`FrameworkBackend` and writes only framework code (tensors,
the forward pass, gradients, the optimiser); the kit checks every argument with the core's
messages and makes the contract's decisions once, for every backend. The pieces are public
for backends that implement :class:`Backend` directly:

- tables: :data:`PARAMETERS` (raw parameter -> its ``*_train`` flag), :data:`STRUCTURE_KEYS`,
  :data:`FIXABLE`, :data:`NAMES` (transfer functions and losses every backend implements) and
  :func:`implementation`;
- arrays: :func:`prepare_weights`, :func:`merge_weights`, :func:`check_batch` (a
  :class:`Batch`), :func:`multipliers` (masks x Dale signs), :func:`fixed_entries`,
  :func:`dale_on`, :func:`rectifiers` (``abs``/``relu``/none per matrix),
  :func:`noise_scale` (PsychRNN's or the fixed noise convention), :func:`trainable_keys`;
- rules: :func:`clip_norm`, :func:`check_learning_rate`, :func:`check_optimizer`,
  :func:`derive_seed`, :func:`regularization`, :func:`check_adam_state`,
  :func:`portable_adam_state`;
- :func:`implements`: whether a backend class provides an optional method.

``docs/writing-a-backend.md`` walks through a complete backend built on the kit, and
:func:`psychcore.testing.check_backend` is the contract every backend passes.
"""

from __future__ import annotations

from .._backend import Backend, implements
from ._arrays import (
    Batch,
    check_batch,
    check_spec,
    dale_on,
    fixed_entries,
    merge_weights,
    multipliers,
    noise_scale,
    prepare_weights,
    rectifiers,
    structure_of,
    trainable_keys,
)
from ._base import OPTIMIZER_PREFIX, FrameworkBackend
from ._rules import (
    check_adam_state,
    check_learning_rate,
    check_optimizer,
    clip_norm,
    derive_seed,
    portable_adam_state,
    regularization,
)
from ._tables import FIXABLE, NAMES, PARAMETERS, STRUCTURE_KEYS, implementation, trains

__all__ = [
    "FIXABLE",
    "NAMES",
    "OPTIMIZER_PREFIX",
    "PARAMETERS",
    "STRUCTURE_KEYS",
    "Backend",
    "Batch",
    "FrameworkBackend",
    "check_adam_state",
    "check_batch",
    "check_learning_rate",
    "check_optimizer",
    "check_spec",
    "clip_norm",
    "dale_on",
    "derive_seed",
    "fixed_entries",
    "implementation",
    "implements",
    "merge_weights",
    "multipliers",
    "noise_scale",
    "portable_adam_state",
    "prepare_weights",
    "rectifiers",
    "regularization",
    "structure_of",
    "trainable_keys",
    "trains",
]
