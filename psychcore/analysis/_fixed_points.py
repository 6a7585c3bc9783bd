"""Fixed and slow points of the rate RNN (Sussillo & Barak 2013, Neural Computation 25:626).

For a constant input ``u`` the network is the autonomous Euler map of docs/equations.md,

    F(x) = (1 - alpha) * x + alpha * (W_rec_eff f(x) + W_in_eff u + b_rec)

with a per-unit ``alpha`` (a vector when time constants are trained). Its fixed points solve
``F(x) = x``. The finder minimises the speed

    q(x) = 0.5 * ||F(x) - x||^2

from many initial states (typically visited states, :func:`sample_initial_states`). ``q`` is
half the sum of squares of the residual ``F(x) - x``, so the default optimiser is
Levenberg-Marquardt (``scipy.optimize.least_squares(method="lm")``) with the analytic Jacobian
of the residual, ``J(x) - I``; ``method="lbfgs"`` minimises ``q`` with L-BFGS and the analytic
gradient ``grad q = (J - I)^T (F(x) - x)`` instead. Both stop at fixed points and at local
minima of ``q`` that are not zero (slow points). The Jacobian of the map is

    J(x) = diag(1 - alpha) + diag(alpha) W_rec_eff diag(f'(x))

(row ``i`` of ``W_rec_eff`` is scaled by unit ``i``'s ``alpha``). Minima with
``q < tol_slow`` get a Newton polish (``x <- x - (J - I)^{-1} (F(x) - x)``, kept only if it
ends below ``tol_fixed``); those with ``q < tol_fixed`` are fixed points, those with
``tol_fixed <= q < tol_slow`` are kept as *slow points* (labelled), the rest dropped. Points
closer than ``dedup_tol`` (Euclidean, in state units) are merged, keeping the one with the
smallest ``q`` (fixed points before slow ones).

Stability is that of the discrete map: an eigenvalue ``lambda`` of ``J`` with
``|lambda| < 1`` is a stable direction, ``|lambda| > 1`` an unstable one; within ``1e-8`` of
1 it is marginal. A point is ``"stable"`` (every direction stable), ``"saddle"`` (some
unstable, some not), ``"unstable"`` (every direction unstable) or ``"marginal"`` (no unstable
direction but a marginal one, e.g. a line attractor).

``q`` is in squared state units per step: ``F(x) - x = alpha * (W_rec_eff f(x) + W_in_eff u +
b_rec - x)`` is ``dt`` times the velocity of the continuous-time network, so ``q`` scales with
``(dt / tau)^2``; choose ``tol_slow`` for your ``dt / tau`` (the default ``1e-6`` is a speed of
about ``1.4e-3`` per step, ``1.4e-2`` per ``tau`` at ``dt / tau = 0.1``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import describe
from .._equations import TRANSFER_FUNCTIONS
from .._rng import SeedLike, as_generator
from .._simulator import Simulator
from . import _validate as v
from ._population import PCAResult

_MARGINAL = 1e-8


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return TRANSFER_FUNCTIONS["sigmoid"](x)


_DERIVATIVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: (x > 0).astype(np.float64),
    "tanh": lambda x: 1.0 - np.tanh(x) ** 2,
    "sigmoid": lambda x: _sigmoid(x) * (1.0 - _sigmoid(x)),
    "softplus": _sigmoid,
    "linear": lambda x: np.ones_like(x, dtype=np.float64),
}


def transfer_derivative(name: str | Callable[[np.ndarray], np.ndarray]
                        ) -> Callable[[np.ndarray], np.ndarray]:
    """Derivative ``f'`` of a transfer function given by name (or central differences).

    ReLU's derivative is taken as 0 at 0. For a callable, ``f'(x)`` is approximated by
    ``(f(x + h) - f(x - h)) / 2h`` with ``h = 1e-6 * max(1, |x|)``.

    Raises:
        ValueError: On an unknown name.
    """
    if callable(name):
        f = name

        def numeric(x: np.ndarray) -> np.ndarray:
            h = 1e-6 * np.maximum(1.0, np.abs(x))
            return (f(x + h) - f(x - h)) / (2.0 * h)

        return numeric
    if name not in _DERIVATIVES:
        raise ValueError(f"transfer_derivative: name must be one of {sorted(_DERIVATIVES)} or "
                         f"a callable; received {name!r}")
    return _DERIVATIVES[name]


class EulerMap:
    """The autonomous Euler map of a rate RNN for a constant input, with its derivatives.

    Args:
        spec: The network's ``ModelSpec`` (``architecture="rnn"``; bound, or pass dt/tau).
        weights: Weights dict (docs/equations.md); validated by :class:`~psychcore.Simulator`.
        x_const: Constant input, shape ``(N_in,)``.
        dt: Time step; ``spec.dt`` by default.
        tau: Time constant; ``spec.tau`` by default.

    Attributes:
        W_rec: Effective recurrent weights; ``alpha``: per-unit ``dt / tau``;
        drive: ``W_in_eff @ x_const + b_rec``; ``N_rec``: number of units.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: For a gated architecture, or weights/inputs of the wrong shape.
    """

    def __init__(self, spec: Any, weights: Mapping[str, Any], x_const: Any, *,
                 dt: float | None = None, tau: float | None = None) -> None:
        owner = "EulerMap"
        arch = getattr(spec, "architecture", None)
        if arch is None:
            raise TypeError(f"{owner}: spec must be a ModelSpec; received {describe(spec)}")
        if arch != "rnn":
            raise ValueError(f"{owner}: fixed points are defined for architecture 'rnn' only; "
                             f"received {arch!r}")
        sim = Simulator(spec, weights, dt=dt, tau=tau)
        self.N_rec = sim.N_rec
        self.W_rec = np.asarray(sim.W_rec_eff, dtype=np.float64)
        self.alpha = np.asarray(sim.alpha, dtype=np.float64)
        self.f = sim.transfer_function
        self.fprime = transfer_derivative(spec.transfer_function)
        u = v.array(x_const, "x_const", owner, shape=(sim.N_in,),
                    expected=f"shape (N_in,) = ({sim.N_in},)")
        self.x_const = u
        self.drive = np.asarray(sim.W_in_eff, dtype=np.float64) @ u + sim.weights["b_rec"]

    def _state(self, x: Any, owner: str) -> np.ndarray:
        s = v.array(x, "x", owner, ndim=(1, 2), expected=f"shape (..., N_rec={self.N_rec})")
        if s.shape[-1] != self.N_rec:
            raise ValueError(f"{owner}: x must have shape (..., N_rec={self.N_rec}); received "
                             f"shape {s.shape}")
        return s

    def step(self, x: Any) -> np.ndarray:
        """``F(x)`` for states of shape ``(N_rec,)`` or ``(n, N_rec)``."""
        s = self._state(x, "EulerMap.step")
        return (1.0 - self.alpha) * s + self.alpha * (self.f(s) @ self.W_rec.T + self.drive)

    def velocity(self, x: Any) -> np.ndarray:
        """``F(x) - x``: the change of the state in one step."""
        s = self._state(x, "EulerMap.velocity")
        return self.alpha * (self.f(s) @ self.W_rec.T + self.drive - s)

    def q(self, x: Any) -> np.ndarray | float:
        """``0.5 * ||F(x) - x||^2`` (a float for one state, an array for several)."""
        vel = self.velocity(x)
        out = 0.5 * np.sum(vel**2, axis=-1)
        return float(out) if np.ndim(out) == 0 else out

    def q_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """``q(x)`` and its gradient ``(J - I)^T (F(x) - x)`` for one state ``(N_rec,)``."""
        a = self.alpha
        r = a * (self.f(x) @ self.W_rec.T + self.drive - x)
        grad = -a * r + self.fprime(x) * (self.W_rec.T @ (a * r))
        return 0.5 * float(r @ r), grad

    def jacobian(self, x: Any) -> np.ndarray:
        """``J(x) = diag(1 - alpha) + diag(alpha) W_rec_eff diag(f'(x))`` for one state."""
        s = self._state(x, "EulerMap.jacobian")
        if s.ndim != 1:
            raise ValueError(f"EulerMap.jacobian: x must have shape (N_rec,) = ({self.N_rec},); "
                             f"received shape {s.shape}")
        J = self.alpha[:, None] * self.W_rec * self.fprime(s)[None, :]
        J[np.diag_indices_from(J)] += 1.0 - self.alpha
        return J


@dataclass(frozen=True)
class FixedPoints:
    """Fixed and slow points found by :func:`find_fixed_points`, with their stability.

    Attributes:
        points: The points, ``(K, N_rec)``, fixed points first, each group by increasing q.
        q: ``0.5 * ||F(x) - x||^2`` at each point.
        is_fixed: ``True`` for fixed points (``q < tol_fixed``), ``False`` for slow points.
        eigenvalues: Eigenvalues of the map's Jacobian at each point, ``(K, N_rec)``
            complex, by decreasing modulus.
        n_unstable: Number of eigenvalues with ``|lambda| > 1``.
        stability: ``"stable"``, ``"saddle"``, ``"unstable"`` or ``"marginal"``.
        counts: How many initial states ended at each point (after merging).
        x_const: The constant input.
        n_initial: Number of initial states optimised.
        tol_fixed, tol_slow, dedup_tol: The tolerances used.
    """

    points: np.ndarray
    q: np.ndarray
    is_fixed: np.ndarray
    eigenvalues: np.ndarray
    n_unstable: np.ndarray
    stability: np.ndarray
    counts: np.ndarray
    x_const: np.ndarray
    n_initial: int
    tol_fixed: float
    tol_slow: float
    dedup_tol: float = field(default=1e-3)

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @property
    def stable(self) -> np.ndarray:
        """Boolean per point: every Jacobian eigenvalue inside the unit circle."""
        return self.stability == "stable"

    @property
    def kind(self) -> np.ndarray:
        """``"fixed"`` or ``"slow"`` per point."""
        return np.where(self.is_fixed, "fixed", "slow")

    def project(self, pca_result: PCAResult) -> np.ndarray:
        """The points projected on a :class:`PCAResult`'s components, ``(K, n_components)``."""
        if not isinstance(pca_result, PCAResult):
            raise TypeError(f"FixedPoints.project: pca_result must be a PCAResult; received "
                            f"{describe(pca_result)}")
        if len(self) == 0:
            return np.zeros((0, pca_result.n_components))
        return pca_result.transform(self.points)

    def summary(self) -> str:
        """One line per point: kind, stability, q, unstable directions, count."""
        lines = []
        for i in range(len(self)):
            lines.append(
                f"{self.kind[i]:5s} {self.stability[i]:8s} q={self.q[i]:.2e} "
                f"unstable dims={int(self.n_unstable[i])} "
                f"max|lambda|={abs(self.eigenvalues[i][0]):.4f} from {int(self.counts[i])} "
                "initial states"
            )
        return "\n".join(lines)


def sample_initial_states(
    states: Any, n: int, *, rng: SeedLike = None, noise_scale: float = 0.0
) -> np.ndarray:
    """Draw ``n`` initial states from visited states (e.g. simulated trajectories).

    Args:
        states: Visited states, ``(..., N_rec)`` (e.g. ``(N_batch, N_steps, N_rec)``).
        n: Number of states to draw (without replacement when there are enough).
        rng: Seed or generator.
        noise_scale: Standard deviation of Gaussian noise added to each drawn state.

    Returns:
        ``(n, N_rec)`` float64.

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: On an empty ``states`` or a negative ``noise_scale``.
    """
    owner = "sample_initial_states"
    s = v.array(states, "states", owner, ndim=(1, 2, 3, 4), expected="shape (..., N_rec)")
    flat = s.reshape(-1, s.shape[-1])
    if flat.shape[0] == 0:
        raise ValueError(f"{owner}: states is empty (shape {s.shape})")
    n = v.integer(n, "n", owner)
    sigma = v.real(noise_scale, "noise_scale", owner, low=0.0)
    gen = as_generator(rng, name="rng")
    idx = gen.choice(flat.shape[0], size=n, replace=n > flat.shape[0])
    out = flat[idx].copy()
    if sigma > 0:
        out += sigma * gen.standard_normal(out.shape)
    return out


def _newton(fmap: EulerMap, x: np.ndarray, iters: int = 30) -> tuple[np.ndarray, float]:
    q = fmap.q(x)
    eye = np.eye(fmap.N_rec)
    for _ in range(iters):
        if q < 1e-30:
            break
        g = fmap.velocity(x)
        A = fmap.jacobian(x) - eye
        try:
            dx = np.linalg.solve(A, -g)
        except np.linalg.LinAlgError:
            dx = np.linalg.lstsq(A, -g, rcond=None)[0]
        new = x + dx
        q_new = fmap.q(new)
        if not np.isfinite(q_new) or q_new >= q:
            break
        x, q = new, q_new
    return x, float(q)


def _classify(eig: np.ndarray) -> tuple[int, str]:
    mod = np.abs(eig)
    n_unstable = int(np.sum(mod > 1.0 + _MARGINAL))
    n_marginal = int(np.sum(np.abs(mod - 1.0) <= _MARGINAL))
    if n_unstable == mod.size:
        return n_unstable, "unstable"
    if n_unstable > 0:
        return n_unstable, "saddle"
    return 0, "marginal" if n_marginal else "stable"


def find_fixed_points(
    spec: Any,
    weights: Mapping[str, Any],
    x_const: Any,
    initial_states: Any,
    *,
    tol_fixed: float = 1e-12,
    tol_slow: float = 1e-6,
    dedup_tol: float = 1e-3,
    max_iter: int = 1000,
    method: str = "lm",
    newton: bool = True,
    noise_scale: float = 0.0,
    rng: SeedLike = None,
) -> FixedPoints:
    """Find fixed and slow points of a rate RNN for a constant input (module docstring).

    Args:
        spec: ``ModelSpec`` of a rate RNN (bound to a task: dt and tau are read from it).
        weights: Weights dict (docs/equations.md).
        x_const: Constant input, ``(N_in,)`` (e.g. zeros: no stimulus).
        initial_states: Starting states, ``(n, N_rec)`` or ``(N_rec,)``; e.g.
            :func:`sample_initial_states` of simulated trajectories.
        tol_fixed: ``q`` below which a minimum is a fixed point.
        tol_slow: ``q`` below which a minimum is kept as a slow point (``>= tol_fixed``).
        dedup_tol: Points closer than this (Euclidean) are merged.
        max_iter: Iterations (L-BFGS) or residual evaluations (Levenberg-Marquardt) per
            initial state.
        method: ``"lm"`` (Levenberg-Marquardt on ``F(x) - x``) or ``"lbfgs"`` (L-BFGS on q).
        newton: Polish candidate fixed points with Newton steps.
        noise_scale: Standard deviation of Gaussian noise added to the initial states.
        rng: Seed or generator of that noise.

    Returns:
        A :class:`FixedPoints` (possibly empty).

    Raises:
        TypeError: On arguments of the wrong type.
        ValueError: For a gated architecture, shapes that do not fit, or inconsistent
            tolerances.
    """
    owner = "find_fixed_points"
    fmap = EulerMap(spec, weights, x_const)
    x0 = v.array(initial_states, "initial_states", owner, ndim=(1, 2),
                 expected=f"shape (n, N_rec={fmap.N_rec})")
    x0 = np.atleast_2d(x0)
    if x0.shape[1] != fmap.N_rec or x0.shape[0] == 0:
        raise ValueError(f"{owner}: initial_states must have shape (n, N_rec={fmap.N_rec}) with "
                         f"n >= 1; received shape {np.shape(initial_states)}")
    tol_fixed = v.real(tol_fixed, "tol_fixed", owner, low=0.0, low_open=True)
    tol_slow = v.real(tol_slow, "tol_slow", owner, low=0.0, low_open=True)
    if tol_slow < tol_fixed:
        raise ValueError(f"{owner}: tol_slow must be >= tol_fixed = {tol_fixed:g}; "
                         f"received {tol_slow:g}")
    dedup_tol = v.real(dedup_tol, "dedup_tol", owner, low=0.0)
    max_iter = v.integer(max_iter, "max_iter", owner)
    method = v.choice(method, "method", owner, ("lm", "lbfgs"))
    if not isinstance(newton, bool | np.bool_):
        raise TypeError(f"{owner}: newton must be a bool; received {describe(newton)}")
    sigma = v.real(noise_scale, "noise_scale", owner, low=0.0)
    if sigma > 0:
        x0 = x0 + sigma * as_generator(rng, name="rng").standard_normal(x0.shape)
    opt = v.scipy_optimize()
    found, qs = [], []
    eye = np.eye(fmap.N_rec)

    def residual_jacobian(x: np.ndarray) -> np.ndarray:
        return fmap.jacobian(x) - eye

    for start in x0:
        if method == "lm":
            res = opt.least_squares(fmap.velocity, start, jac=residual_jacobian, method="lm",
                                    xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=max_iter)
            x = np.asarray(res.x, dtype=np.float64)
            q = float(fmap.q(x))
        else:
            res = opt.minimize(fmap.q_and_grad, start, jac=True, method="L-BFGS-B",
                               options={"maxiter": max_iter, "ftol": 1e-20, "gtol": 1e-12,
                                        "maxcor": 20})
            x, q = np.asarray(res.x, dtype=np.float64), float(res.fun)
        if newton and q < tol_slow:
            xn, qn = _newton(fmap, x)
            if qn < tol_fixed and qn <= q:
                x, q = xn, qn
        if np.isfinite(q) and q < tol_slow:
            found.append(x)
            qs.append(q)
    order = sorted(range(len(found)), key=lambda i: (qs[i] >= tol_fixed, qs[i]))
    kept: list[int] = []
    counts: list[int] = []
    for i in order:
        if kept:
            dist = np.linalg.norm(np.asarray([found[j] for j in kept]) - found[i], axis=1)
            nearest = int(np.argmin(dist))
            if dist[nearest] <= dedup_tol:
                counts[nearest] += 1
                continue
        kept.append(i)
        counts.append(1)
    n = fmap.N_rec
    points = np.array([found[i] for i in kept]).reshape(-1, n)
    q_arr = np.array([qs[i] for i in kept], dtype=np.float64)
    eigs = np.zeros((len(kept), n), dtype=np.complex128)
    n_unstable = np.zeros(len(kept), dtype=np.int64)
    stability = np.empty(len(kept), dtype=object)
    for k, p in enumerate(points):
        e = np.linalg.eigvals(fmap.jacobian(p))
        eigs[k] = e[np.argsort(-np.abs(e), kind="stable")]
        n_unstable[k], stability[k] = _classify(eigs[k])
    return FixedPoints(points=points, q=q_arr, is_fixed=q_arr < tol_fixed, eigenvalues=eigs,
                       n_unstable=n_unstable, stability=stability.astype(str),
                       counts=np.array(counts, dtype=np.int64), x_const=fmap.x_const,
                       n_initial=int(x0.shape[0]), tol_fixed=tol_fixed, tol_slow=tol_slow,
                       dedup_tol=dedup_tol)
