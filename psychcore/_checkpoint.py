"""Training checkpoints: weights, optimiser state, generator states and loop position.

A checkpoint is one file, ``<path>.npz``, replaced atomically: the weights, the backend's
training state under keys prefixed ``state/`` and, under ``meta/json``, the spec, batch
generator state, epoch, losses, curriculum position and optimiser settings as UTF-8 JSON. So a
kill at any moment leaves either the previous checkpoint or the new one, never a mixture.
``<path>.json`` is a human-readable copy of the metadata, written after the ``.npz`` and never
read back. Loading never enables pickle.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._io import atomic_savez, atomic_write_text
from ._spec_io import parse_json

STATE_PREFIX = "state/"
META_KEY = "meta/json"
FORMAT = "psychcore-checkpoint-1"


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    base = Path(path)
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


def checkpoint_exists(path: str | os.PathLike) -> bool:
    """Whether a checkpoint (or its metadata copy) exists at ``path``."""
    npz, js = _paths(path)
    return npz.exists() or js.exists()


@dataclass
class Checkpoint:
    """Everything needed to continue a run exactly where it stopped."""

    weights: dict[str, np.ndarray]
    training_state: dict[str, np.ndarray]
    spec_json: str
    epoch: int
    losses: list[float]
    loss_epochs: list[int]
    batch_rng_state: dict[str, Any]
    optimizer: dict[str, Any]
    curriculum: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | os.PathLike) -> Path:
        """Write (or atomically replace) the checkpoint at ``path``."""
        npz, js = _paths(path)
        meta = {
            "format": FORMAT,
            "spec": json.loads(self.spec_json),
            "epoch": self.epoch,
            "losses": [float(v) for v in self.losses],
            "loss_epochs": [int(v) for v in self.loss_epochs],
            "batch_rng_state": self.batch_rng_state,
            "optimizer": self.optimizer,
            "curriculum": self.curriculum,
            "extra": self.extra,
        }
        text = json.dumps(meta, indent=1)
        arrays = dict(self.weights)
        arrays.update({STATE_PREFIX + k: v for k, v in self.training_state.items()})
        arrays[META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        atomic_savez(npz, arrays, overwrite=True)
        atomic_write_text(js, text, overwrite=True)
        return npz

    @classmethod
    def load(cls, path: str | os.PathLike) -> Checkpoint:
        """Read a checkpoint written by :meth:`save`.

        Raises:
            FileNotFoundError: If either file is missing.
            ValueError: If the files are not a psychcore checkpoint.
        """
        npz, _ = _paths(path)
        if not npz.exists():
            raise FileNotFoundError(f"checkpoint file {npz} does not exist")
        weights: dict[str, np.ndarray] = {}
        state: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {}
        with np.load(npz, allow_pickle=False) as data:
            for key in data.files:
                if key == META_KEY:
                    meta = parse_json(data[key].tobytes(), f"{npz} (checkpoint metadata)")
                elif key.startswith(STATE_PREFIX):
                    state[key[len(STATE_PREFIX):]] = data[key]
                else:
                    weights[key] = data[key]
        if meta.get("format") != FORMAT:
            raise ValueError(f"{npz} is not a psychcore checkpoint (format {meta.get('format')!r})")
        return cls(
            weights=weights,
            training_state=state,
            spec_json=json.dumps(meta["spec"]),
            epoch=int(meta["epoch"]),
            losses=list(meta["losses"]),
            loss_epochs=list(meta["loss_epochs"]),
            batch_rng_state=meta["batch_rng_state"],
            optimizer=meta["optimizer"],
            curriculum=meta.get("curriculum"),
            extra=meta.get("extra", {}),
        )
