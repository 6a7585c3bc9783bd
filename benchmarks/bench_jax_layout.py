"""Why the JAX backend's rate-RNN loop is unit-major: two layouts of one training gradient.

    python benchmarks/bench_jax_layout.py [--N-rec 50] [--repeats 30]

The hello world's gradient (rate RNN, relu, B=128, T=200, two inputs and outputs, MSE) written
two ways in plain JAX, each in one ``jax.jit``, alternated in one process:

- ``batch-major``: the state is ``(N_batch, N_rec)``; ``x @ W.T`` per step, the readout as one
  product after the loop, gradients by XLA's differentiation of the scan (psychcore-jax
  before 2026-12-03);
- ``unit-major``: the state is ``(N_rec, N_batch)``; ``W @ x`` per step, the readout inside
  the loop, and the gradient of ``W @ r`` taken with a ``W.T`` made once before the loop
  (``psychcore_jax._network._product``, which this script calls).

Both gradients are checked against each other first. Wall-clock medians, the ratio, and the
load average are printed.
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from psychcore_jax._network import _product as product  # the backend's own


def batch_major(params, x, y, mask, alpha):  # noqa: ANN001, ANN201
    W, W_in, W_out, b = params
    n = W.shape[0]

    def step(h, u_t):  # noqa: ANN001, ANN202
        h = (1 - alpha) * h + jax.nn.relu(h) @ (alpha * W).T + (u_t @ (alpha * W_in).T + alpha * b)
        return h, h

    h0 = jnp.zeros((x.shape[0], n), x.dtype)
    states = jax.lax.scan(step, h0, jnp.swapaxes(x, 0, 1))[1]
    out = (jax.nn.relu(states).reshape(-1, n) @ W_out.T).reshape(*states.shape[:2], -1)
    return jnp.mean((mask * (jnp.swapaxes(out, 0, 1) - y)) ** 2)


def unit_major(params, x, y, mask, alpha):  # noqa: ANN001, ANN201
    W, W_in, W_out, b = params
    n = W.shape[0]
    w_rec, w_in, bias = alpha * W, alpha * W_in, (alpha * b)[:, None]
    w_rec_t, w_out_t = jax.lax.stop_gradient(w_rec.T), jax.lax.stop_gradient(W_out.T)

    def step(h, u_t):  # noqa: ANN001, ANN202
        h = (1 - alpha) * h + product(w_rec, w_rec_t, jax.nn.relu(h)) + (w_in @ u_t + bias)
        return h, product(W_out, w_out_t, jax.nn.relu(h))

    h0 = jnp.zeros((n, x.shape[0]), x.dtype)
    out = jax.lax.scan(step, h0, jnp.transpose(x, (1, 2, 0)))[1]  # (T, N_out, B)
    return jnp.mean((mask * (jnp.transpose(out, (2, 0, 1)) - y)) ** 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N-rec", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, B, T = args.N_rec, 128, 200
    params = tuple(jnp.asarray(a, jnp.float32) for a in (
        rng.standard_normal((n, n)) * 0.5 / np.sqrt(n), rng.standard_normal((n, 2)),
        rng.standard_normal((2, n)) / np.sqrt(n), rng.standard_normal(n) * 0.1))
    x, y = (jnp.asarray(rng.standard_normal((B, T, 2)), jnp.float32) for _ in range(2))
    mask = jnp.ones((B, T, 2), jnp.float32)
    fns = {name: jax.jit(jax.value_and_grad(fn))
           for name, fn in (("batch-major", batch_major), ("unit-major", unit_major))}
    (va, ga), (vb, gb) = (fn(params, x, y, mask, 0.1) for fn in fns.values())
    worst = max(float(jnp.max(jnp.abs(p - q)) / jnp.max(jnp.abs(p)))
                for p, q in zip(ga, gb, strict=True))
    print(f"losses {float(va):.6f} {float(vb):.6f}; largest relative gradient difference "
          f"{worst:.1e}")
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(args.repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn(params, x, y, mask, 0.1))
            times[name].append(time.perf_counter() - t0)
    med = {name: float(np.median(t)) * 1e3 for name, t in times.items()}
    for name, t in times.items():
        print(f"{name:12s} median {med[name]:6.2f} ms [{min(t) * 1e3:.2f}-{max(t) * 1e3:.2f}]")
    print(f"unit-major / batch-major: {med['unit-major'] / med['batch-major']:.2f} at "
          f"N_rec={n} (load {' '.join(f'{v:.2f}' for v in os.getloadavg())}; jax "
          f"{jax.__version__})")


if __name__ == "__main__":
    main()
