"""The compiled functions of one backend: forward pass, training step, loss and gradients.

Each is a ``tf.function`` with an input signature, cached per key in a :class:`Compiled`
owned by the backend (never in a global cache, so a backend and its graphs are freed
together):

- forward passes per ``(n_steps, noise mode)`` with the batch dimension unknown, so any number
  of trials runs without retracing;
- training steps and gradients per ``(n_batch, n_steps, noise mode)`` with static shapes: with
  an unknown batch size every broadcasting op of the unrolled steps gets shape-reconciling ops
  in its gradient, slower to trace and to run.

Noise modes: ``"none"`` (no recurrent noise), ``"draw"`` (standard normals from the backend's
``tf.random.Generator`` inside the graph), ``"given"`` (an extra ``(B, T, N_rec)`` argument).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psychcore.backend import regularization

from ._network import Network

NOISE_MODES = ("none", "draw", "given")


class Compiled:
    """Builds and caches the traced functions of one network.

    Args:
        tf: The ``tensorflow`` module.
        net: The :class:`~psychcore_tf._network.Network`.
        generator: The ``tf.random.Generator`` of the recurrent noise.
        loss_fn: ``fn(outputs, y, mask) -> scalar`` on tensors.
        loop_for: ``fn(n_steps) -> loop implementation``.
        jit_compile: Compile with XLA.
    """

    def __init__(self, tf: Any, net: Network, generator: Any, loss_fn: Callable,
                 loop_for: Callable[[int], str], jit_compile: bool) -> None:
        self.tf, self.net, self.generator = tf, net, generator
        self.loss_fn, self.loop_for, self.jit_compile = loss_fn, loop_for, jit_compile
        self.optimizer: Any = None
        self.clip: float | None = 1.0
        self._cache: dict[tuple, Any] = {}

    def clear(self, kinds: tuple[str, ...] = ("forward", "train", "gradients")) -> None:
        """Forget the compiled functions of the given kinds (they are rebuilt on demand)."""
        for key in [k for k in self._cache if k[0] in kinds]:
            del self._cache[key]

    # ------------------------------------------------------------------ pieces
    def _signature(self, batch: int | None, n_steps: int, targets: bool, mode: str) -> list:
        tf, spec, dt = self.tf, self.net.spec, self.net.dtype
        sig = [tf.TensorSpec((batch, n_steps, spec.N_in), dt)]
        if targets:
            sig += [tf.TensorSpec((batch, n_steps, spec.N_out), dt)] * 2
        if mode == "given":
            sig.append(tf.TensorSpec((batch, n_steps, spec.N_rec), dt))
        return sig

    def _xi(self, x: Any, noise: tuple, mode: str) -> Any:
        """Time-major standard normals ``(T, B, N_rec)`` for the recurrent noise, or None."""
        tf = self.tf
        if mode == "none":
            return None
        if mode == "given":
            return tf.transpose(noise[0], (1, 0, 2))
        shape = tf.stack([x.shape[1], tf.shape(x)[0], self.net.spec.N_rec])
        return self.generator.normal(shape, dtype=self.net.dtype)

    def _tensor_weights(self) -> dict[str, Any]:
        """The weights dict as tensors, for ``custom_regularization``."""
        tf, net = self.tf, self.net
        out: dict[str, Any] = {k: tf.constant(v) for k, v in net.structure.items()}
        out.update({k: tf.convert_to_tensor(v) for k, v in net.params.items()})
        return out

    def _objective(self, x: Any, y: Any, mask: Any, noise: tuple, mode: str, loop: str) -> Any:
        """Loss plus regularisation of one batch (inside a trace)."""
        tf, net, spec = self.tf, self.net, self.net.spec
        outputs, states, rates, eff = net.forward(x, self._xi(x, noise, mode), loop)
        value = tf.cast(self.loss_fn(outputs, y, mask), net.dtype)
        reg = regularization(spec, eff, rates, mean=tf.reduce_mean, absolute=tf.abs,
                             custom_args=lambda: (self._tensor_weights(), states),
                             convert=lambda value: tf.cast(value, states.dtype))
        return value if reg is None else value + reg

    def _function(self, kind: str, key: tuple, build: Callable[[], Any]) -> Any:
        if (kind, *key) not in self._cache:
            self._cache[(kind, *key)] = build()
        return self._cache[(kind, *key)]

    def _compile(self, fn: Callable, signature: list) -> Any:
        return self.tf.function(fn, input_signature=signature, jit_compile=self.jit_compile,
                                autograph=False)

    # ------------------------------------------------------------------ functions
    def forward(self, n_steps: int, mode: str) -> Any:
        """``fn(x[, noise]) -> (outputs, states)`` for any number of trials."""
        def build() -> Any:
            net, loop = self.net, self.loop_for(n_steps)

            def forward(x: Any, *noise: Any) -> tuple[Any, Any]:
                outputs, states, _, _ = net.forward(x, self._xi(x, noise, mode), loop)
                return outputs, states

            return self._compile(forward, self._signature(None, n_steps, False, mode))

        return self._function("forward", (n_steps, mode), build)

    def gradients(self, n_batch: int, n_steps: int, mode: str) -> Any:
        """``fn(x, y, mask[, noise]) -> (loss, [gradients])`` of the trainable parameters,
        before fixed entries are zeroed and before clipping."""
        def build() -> Any:
            tf, loop = self.tf, self.loop_for(n_steps)
            variables = list(self.net.trainable.values())

            def gradients(x: Any, y: Any, mask: Any, *noise: Any) -> tuple[Any, list]:
                with tf.GradientTape() as tape:
                    value = self._objective(x, y, mask, noise, mode, loop)
                grads = tape.gradient(value, variables)
                return value, [tf.zeros_like(v) if g is None else g
                               for g, v in zip(grads, variables, strict=True)]

            return self._compile(gradients, self._signature(n_batch, n_steps, True, mode))

        return self._function("gradients", (n_batch, n_steps, mode), build)

    def train(self, n_batch: int, n_steps: int, mode: str) -> Any:
        """``fn(x, y, mask[, noise]) -> loss``: one optimisation step (loss before it)."""
        def build() -> Any:
            tf, net, loop = self.tf, self.net, self.loop_for(n_steps)
            keys, variables = list(net.trainable), list(net.trainable.values())
            opt, clip, fixed = self.optimizer, self.clip, net.fixed

            def train_step(x: Any, y: Any, mask: Any, *noise: Any) -> Any:
                with tf.GradientTape() as tape:
                    value = self._objective(x, y, mask, noise, mode, loop)
                if not variables:
                    return value
                grads = tape.gradient(value, variables)
                grads = [tf.zeros_like(v) if g is None else g
                         for g, v in zip(grads, variables, strict=True)]
                grads = [g * net.masks[f"free_{k}"] if k in fixed else g
                         for g, k in zip(grads, keys, strict=True)]
                if clip is not None:
                    grads, _ = tf.clip_by_global_norm(grads, clip)
                opt.apply_gradients(zip(grads, variables, strict=True))
                for key in fixed:  # momentum or weight decay may still move fixed entries
                    var = net.params[key]
                    var.assign(tf.where(net.masks[f"free_{key}"] == 0,
                                        net.masks[f"fixed_value_{key}"], var))
                return value

            return self._compile(train_step, self._signature(n_batch, n_steps, True, mode))

        return self._function("train", (n_batch, n_steps, mode), build)
