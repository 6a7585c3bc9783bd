"""Why the JAX backend's rate-RNN loop is unit-major and fused: one training gradient three ways.

    python benchmarks/bench_jax_layout.py [--N-rec 50] [--repeats 30]

The hello world's gradient (rate RNN, relu, B=128, T=200, two inputs and outputs, MSE) written
two ways in plain JAX, each in one ``jax.jit``, alternated in one process:

- ``batch-major``: the state is ``(N_batch, N_rec)``; ``x @ W.T`` per step, the readout as one
  product after the loop, gradients by XLA's differentiation of the scan (psychcore-jax
  before 2026-12-03);
- ``unit-major``: the state is ``(N_rec, N_batch)``; ``W @ x`` per step, the readout inside
  the loop, and the gradient of ``W @ r`` taken with a ``W.T`` made once before the loop
  (``psychcore_jax._network._product``, which this script calls); three products a step
  (psychcore-jax on 2026-12-03);
- ``fused``: as ``unit-major``, with the three products of a step made as one block product,
  ``[[alpha W, alpha W_in], [W_out, 0]] @ [relu(h_{t-1}); u_t]``, whose bottom rows are the
  readout of the previous state (the backend's loop, ``psychcore_jax._network._rnn``).

The gradients are checked against each other first. Wall-clock medians, the ratios, and the
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


def fused(params, x, y, mask, alpha):  # noqa: ANN001, ANN201
    W, W_in, W_out, b = params
    n, k = W.shape[0], W_in.shape[1]
    M = jnp.concatenate([jnp.concatenate([alpha * W, alpha * W_in], 1),
                         jnp.concatenate([W_out, jnp.zeros((W_out.shape[0], k), W.dtype)], 1)])
    M_t, w_out_t = jax.lax.stop_gradient(M.T), jax.lax.stop_gradient(W_out.T)
    bias = (alpha * b)[:, None]

    def step(h, u_t):  # noqa: ANN001, ANN202
        p = product(M, M_t, jnp.concatenate([jax.nn.relu(h), u_t]))
        return (1 - alpha) * h + p[:n] + bias, p[n:]  # p[n:]: the readout of h_{t-1}

    h0 = jnp.zeros((n, x.shape[0]), x.dtype)
    h_last, z = jax.lax.scan(step, h0, jnp.transpose(x, (1, 2, 0)))
    out = jnp.concatenate([z[1:], product(W_out, w_out_t, jax.nn.relu(h_last))[None]])
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
           for name, fn in (("batch-major", batch_major), ("unit-major", unit_major),
                            ("fused", fused))}
    (va, ga), *others = (fn(params, x, y, mask, 0.1) for fn in fns.values())
    worst = max(float(jnp.max(jnp.abs(p - q)) / jnp.max(jnp.abs(p)))
                for _, gb in others for p, q in zip(ga, gb, strict=True))
    print(f"losses {' '.join(f'{float(v):.6f}' for v in (va, *(o[0] for o in others)))}; "
          f"largest relative gradient difference {worst:.1e}")
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(args.repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn(params, x, y, mask, 0.1))
            times[name].append(time.perf_counter() - t0)
    med = {name: float(np.median(t)) * 1e3 for name, t in times.items()}
    for name, t in times.items():
        print(f"{name:12s} median {med[name]:6.2f} ms [{min(t) * 1e3:.2f}-{max(t) * 1e3:.2f}]")
    print(f"unit-major / batch-major: {med['unit-major'] / med['batch-major']:.2f}, fused / "
          f"unit-major: {med['fused'] / med['unit-major']:.2f}, fused / batch-major: "
          f"{med['fused'] / med['batch-major']:.2f} at N_rec={n} (load "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}; jax {jax.__version__})")


if __name__ == "__main__":
    main()
