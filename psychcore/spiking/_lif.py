"""Leaky integrate-and-fire version of a rate network (Kim, Li & Sejnowski, PNAS 2019).

Equations, defaults and their sources: docs/spiking.md. The simulation is vectorised over
trials: every 0.05 ms step updates ``(N_batch, N)`` arrays in place and the recurrent input is
gathered from the weights of the neurons that spiked. Without ``spikernn_compat`` the loop is
:func:`._engine.run_stacked` (float32 by default, and stacked over scaling factors for the
lambda search); with it, the reference loop below, spikeRNN's operations in its order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_bool, check_choice, check_float
from .._rng import SeedLike, as_generator
from ._engine import StackedRun, run_stacked
from ._network import RateNetwork, check_inputs
from ._noise import NoiseSource

OWNER = "LIFParams"


@dataclass(frozen=True)
class LIFParams:
    """Parameters of the LIF network; spikeRNN's values (``spiking/LIF_network_fnc.py`` at
    commit 57e4032) as defaults. Times in seconds, voltages in mV.

    Attributes:
        lam: Scaling factor lambda: recurrent weights and readout are divided by it
            (``W = w / scaling_factor``, ``out = w_out / scaling_factor * rs``). Required:
            spikeRNN chooses it by grid search (:func:`~psychcore.spiking.lambda_search`;
            its grid is 20, 25, ..., 75).
        dt: Integration step (``dt = 0.00005 * downsample``).
        tau_m: Membrane time constant (``tm = 0.010``).
        t_ref: Refractory period (``tref = 0.002``).
        v_reset: Reset voltage (``vreset = -65``).
        v_threshold: Spike threshold (``vpeak = -40``).
        v_spike: Voltage recorded at a spike (``v + (30 - v)`` before the reset).
        bias: Constant bias current, at the rheobase (``BIAS = vpeak``).
        tau_rise: Synaptic rise time of the double-exponential filter (``tr = 0.002``); the
            decay time of unit ``i`` is its rate time constant ``tau_i``.
        v_init: Initial voltages are uniform in ``[low, high)``
            (``v = vreset + rand(N) * (30 - vreset)``).
        noise_sd: Standard deviation of the voltage noise added at every step (``randn / 10``).
        spikernn_compat: Reproduce spikeRNN exactly, defects included: the raw recurrent
            weights instead of the rectified ones the rate network used, no output bias,
            ``(N_steps - 1) * R`` steps with input column ``round(i / R)`` at step ``i``, and
            the refractory test on floating-point times. Off: the rectified weights, the
            output bias, ``N_steps * R`` steps with column ``i // R``, an integer refractory
            count of ``round(t_ref / dt)`` steps.
    """

    lam: float
    dt: float = 5e-5
    tau_m: float = 0.010
    t_ref: float = 0.002
    v_reset: float = -65.0
    v_threshold: float = -40.0
    v_spike: float = 30.0
    bias: float = -40.0
    tau_rise: float = 0.002
    v_init: tuple[float, float] = field(default=(-65.0, 30.0))
    noise_sd: float = 0.1
    spikernn_compat: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "lam", check_float(self.lam, "lam", OWNER, low=0.0, low_open=True))
        for name in ("dt", "tau_m", "tau_rise"):
            set_(self, name, check_float(getattr(self, name), name, OWNER, low=0.0,
                                         low_open=True))
        for name in ("t_ref", "noise_sd"):
            set_(self, name, check_float(getattr(self, name), name, OWNER, low=0.0))
        for name in ("v_reset", "v_threshold", "v_spike", "bias"):
            set_(self, name, check_float(getattr(self, name), name, OWNER))
        if not self.v_reset < self.v_threshold <= self.v_spike:
            raise ValueError(f"{OWNER}: need v_reset < v_threshold <= v_spike; received "
                             f"{self.v_reset}, {self.v_threshold}, {self.v_spike}")
        try:
            low, high = (float(v) for v in self.v_init)
        except (TypeError, ValueError):
            raise TypeError(f"{OWNER}: v_init must be a pair (low, high); received "
                            f"{self.v_init!r}") from None
        if not low <= high:
            raise ValueError(f"{OWNER}: v_init must have low <= high; received {self.v_init}")
        set_(self, "v_init", (low, high))
        set_(self, "spikernn_compat", check_bool(self.spikernn_compat, "spikernn_compat",
                                                 OWNER))


@dataclass(frozen=True, eq=False)
class LIFResult:
    """What :func:`simulate_lif` returns.

    Attributes:
        spike_trial, spike_step, spike_unit: One entry per spike (int32, sorted by trial,
            step, unit): the raster in sparse form (:meth:`raster` makes it dense).
        outputs: ``(N_batch, n_steps, N_out)`` readout at every LIF step (None with
            ``keep_outputs=False``).
        outputs_rate: ``(N_batch, N_steps, N_out)`` readout mapped back to the rate network's
            steps (see ``resample`` of :func:`simulate_lif`), for ``task.accuracy_function``.
        voltages: ``(N_batch, n_steps, len(record_units))`` or ``None``; ``v_spike`` at a spike.
        v0: ``(N_batch, N)`` initial voltages used.
        n_steps: LIF steps simulated; ``steps_per_rate_step``: LIF steps per rate step.
        excitatory: ``(N,)`` True for excitatory units (for plots sorted by E/I).
    """

    spike_trial: np.ndarray
    spike_step: np.ndarray
    spike_unit: np.ndarray
    outputs: np.ndarray | None
    outputs_rate: np.ndarray
    voltages: np.ndarray | None
    v0: np.ndarray
    n_steps: int
    steps_per_rate_step: int
    dt: float
    excitatory: np.ndarray

    @property
    def N_batch(self) -> int:
        """Number of trials."""
        return int(self.outputs_rate.shape[0])

    def raster(self, trial: int = 0) -> np.ndarray:
        """Dense boolean raster ``(n_steps, N)`` of one trial."""
        out = np.zeros((self.n_steps, self.excitatory.size), dtype=bool)
        sel = self.spike_trial == trial
        out[self.spike_step[sel], self.spike_unit[sel]] = True
        return out

    def firing_rates(self) -> np.ndarray:
        """Mean firing rate of each unit in each trial, in Hz: ``(N_batch, N)``."""
        counts = np.zeros((self.N_batch, self.excitatory.size))
        np.add.at(counts, (self.spike_trial, self.spike_unit), 1.0)
        return counts / (self.n_steps * self.dt)


def _steps_per_rate_step(network: RateNetwork, params: LIFParams) -> int:
    ratio = network.dt / params.dt
    R = round(ratio)
    if R < 1 or not math.isclose(ratio, R, rel_tol=1e-9):
        raise ValueError(f"params.dt ({params.dt} s) must divide the rate network's dt "
                         f"({network.dt} s) a whole number of times; the ratio is {ratio}")
    return R


def _input_index(n_rate: int, R: int, compat: bool) -> np.ndarray:
    """Rate step whose input drives each LIF step."""
    if compat:
        i = np.arange((n_rate - 1) * R)
        # spikeRNN: min(int(i / 100 + 0.5), columns - 1), i.e. round half up
        return np.minimum((i / R + 0.5).astype(np.int64), n_rate - 1)
    return np.repeat(np.arange(n_rate), R)


def _draws(value: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape == shape[1:]:
        arr = np.broadcast_to(arr, shape)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape} or {shape[1:]}; received "
                         f"{arr.shape}")
    return arr


def simulate_lif(
    network: RateNetwork,
    x: Any,
    params: LIFParams,
    *,
    rng: SeedLike = None,
    v0: Any = None,
    noise: Any = None,
    record_voltages: bool | Any = False,
    resample: str = "mean",
    dtype: str | None = None,
    keep_outputs: bool = True,
    noise_thread: bool = False,
) -> LIFResult:
    """Simulate the LIF version of ``network`` on a batch of trials.

    Args:
        network: The rate network (:class:`RateNetwork`).
        x: Rate-network inputs ``(N_batch, N_steps, N_in)`` (or ``(N_steps, N_in)``), as a
            psychcore task's batch holds them; each is held for ``network.dt / params.dt``
            LIF steps.
        params: :class:`LIFParams`.
        rng: Generator or seed for the draws not given (fresh entropy by default).
        v0: Initial voltages in mV, ``(N_batch, N)`` or ``(N,)``; drawn uniform in
            ``params.v_init`` when ``None``.
        noise: Standard-normal draws ``(N_batch, n_steps, N)`` or ``(n_steps, N)``; the voltage
            gets ``noise / (1 / noise_sd)`` at each step. When ``None``, drawn from an SFC64
            bit generator seeded by one draw of ``rng`` after the ``v0`` draws
            (``psychcore.spiking._noise``): in ``float32`` the Box-Muller transform of its
            64-bit words, in ``float64`` ``Generator(SFC64).standard_normal``, the numbers of
            one ``(n_steps, N_batch, N)`` draw.
        record_voltages: ``True`` for every unit, or a sequence of unit indices; memory is
            ``8 * N_batch * n_steps * units`` bytes.
        resample: How ``outputs_rate`` summarises the LIF steps driven by one rate step:
            ``"mean"`` (default: the average over the rate step's interval, which removes most
            of the spike-by-spike ripple) or ``"last"`` (the sample at its end).
        dtype: ``"float32"`` (the default without ``spikernn_compat``: about twice as fast;
            the voltages keep about 1e-5 mV of resolution, far below the 0.1 mV noise of one
            step) or ``"float64"`` (the default, and the only choice, with
            ``spikernn_compat``). ``outputs_rate`` is float64 either way.
        keep_outputs: Keep the readout at every LIF step (``outputs``); False leaves
            ``outputs`` None and keeps only ``outputs_rate`` (saves ``N_batch * n_steps *
            N_out`` numbers).
        noise_thread: Draw the voltage noise in a worker thread, a chunk of steps ahead of
            the loop (the same numbers, in the same order, from the same generator). Faster
            only with a truly free second core: the thread needs the GIL a dozen times per
            chunk and the loop holds it nearly always (docs/spiking.md, "Speed"); off by
            default.

    Returns:
        :class:`LIFResult`.

    Raises:
        TypeError, ValueError: For arguments of the wrong type, shape or value.
    """
    u = check_inputs(network, x)
    if not isinstance(params, LIFParams):
        raise TypeError(f"params must be a LIFParams; received {type(params).__name__}")
    check_choice(resample, "resample", "simulate_lif", ("mean", "last"))
    keep_outputs = check_bool(keep_outputs, "keep_outputs", "simulate_lif")
    noise_thread = check_bool(noise_thread, "noise_thread", "simulate_lif")
    if dtype is None:
        dtype = "float64" if params.spikernn_compat else "float32"
    check_choice(dtype, "dtype", "simulate_lif", ("float32", "float64"))
    if params.spikernn_compat and dtype != "float64":
        raise ValueError("simulate_lif: spikernn_compat=True reproduces spikeRNN in float64; "
                         f"received dtype={dtype!r}")
    B, T, _ = u.shape
    N = network.N
    compat = params.spikernn_compat
    R = _steps_per_rate_step(network, params)
    idx = _input_index(T, R, compat)
    nt = idx.size
    if nt == 0:
        raise ValueError("x must have at least 2 steps with spikernn_compat=True")
    gen = None if (v0 is not None and noise is not None) else as_generator(rng, name="rng")

    if v0 is None:
        low, high = params.v_init
        v = low + gen.random((B, N)) * (high - low)
    else:
        v = np.array(_draws(v0, "v0", (B, N)))
    v_start = v.copy()
    if noise is not None:
        noise = _draws(noise, "noise", (B, nt, N))
    units: np.ndarray | None = None
    if record_voltages is True:
        units = np.arange(N)
    elif record_voltages is not False and record_voltages is not None:
        units = np.asarray(record_voltages, dtype=np.int64).ravel()
        if units.size and (units.min() < 0 or units.max() >= N):
            raise ValueError(f"record_voltages must hold unit indices in [0, {N}); received "
                             f"{units.tolist()}")

    if not compat:
        run = stacked(network, u, params, np.array([params.lam]), v0=v, noise=noise, gen=gen,
                      dtype=dtype, keep_outputs=keep_outputs, resample=resample, units=units,
                      noise_thread=noise_thread)
        trial, step, unit = sorted_spikes(run.spike_flat, run.spike_at, N)
        return LIFResult(
            spike_trial=trial, spike_step=step, spike_unit=unit, outputs=run.outputs,
            outputs_rate=run.outputs_rate, voltages=run.voltages, v0=v_start, n_steps=nt,
            steps_per_rate_step=R, dt=params.dt, excitatory=network.excitatory)

    # the reference loop (spikernn_compat): spikeRNN's operations in its order, float64
    # weights: W = w / lambda (division, as spikeRNN), readout w_out / lambda
    Wt = np.ascontiguousarray((network.recurrent_weights(rectified=not compat)
                               / params.lam).T)
    w_out = network.w_out / params.lam
    b_out = np.zeros(network.N_out) if compat else network.b_out
    ext = u @ network.w_in.T + network.b_rec  # (B, T, N)
    if not compat:
        ext += params.bias
    td = network.tau
    dt, tm, tr = params.dt, params.tau_m, params.tau_rise
    dec_d = np.exp(-dt / td)
    dec_r = math.exp(-dt / tr)
    trtd = tr * td
    inv_trtd = 1.0 / trtd
    dt_trtd = dt / trtd  # without compat H is kept multiplied by dt
    hr_jump = inv_trtd if compat else dt * inv_trtd
    n_ref = round(params.t_ref / dt)

    A = np.zeros((B, 2, N))  # [IPSC, r]: decay td
    H = np.zeros((B, 2, N))  # [h, hr]:  rise tr
    IPSC, r = A[:, 0], A[:, 1]
    h, hr = H[:, 0], H[:, 1]
    # Refractoriness as a 0/1 factor ``active``, changed only where units spike: a spike at
    # step i schedules the unit's return at step ``wake`` (the first step at which spikeRNN's
    # test ``dt * (step + 1) > tlast + t_ref`` holds with compat, ``i + n_ref + 1`` without).
    # At the start every unit is refractory as if it had spiked at time 0 (spikeRNN's tlast=0).
    tlast = np.zeros((B, N))
    wake = np.full((B, N), _wake_step(np.zeros(1), dt, params.t_ref, n_ref, compat, -1)[0])
    active = np.zeros((B, N))
    schedule: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {
        int(wake[0, 0]): [np.nonzero(np.ones((B, N), dtype=bool))]}
    I_syn = np.empty((B, N))
    tmp = np.empty((B, N))
    tmp2 = np.empty((B, 2, N))
    fired = np.empty((B, N), dtype=bool)
    out = np.empty((B, nt, network.N_out))
    volts = None if units is None else np.empty((B, nt, units.size))
    spike_flat: list[np.ndarray] = []  # flat (trial * N + unit) indices of each step's spikes
    spike_at: list[int] = []
    factor = dt / tm
    # noise / (1 / 0.1) is noise / 10.0 exactly, spikeRNN's randn / 10
    with NoiseSource(gen, noise, (B, N), nt, params.noise_sd, np.float64,
                     thread=noise_thread) as chunks:
        for i in range(nt):
            for bw, nw in schedule.pop(i, ()):
                due = wake[bw, nw] == i
                active[bw[due], nw[due]] = 1.0
            if compat:  # spikeRNN's order of operations: (IPSC + bias) + input
                np.add(IPSC, params.bias, out=I_syn)
                I_syn += ext[:, idx[i]]
            else:
                np.add(IPSC, ext[:, idx[i]], out=I_syn)
            # dv = active * (I - v) / tm ;  v += dt * dv + noise / (1 / noise_sd)
            np.subtract(I_syn, v, out=tmp)
            tmp *= active
            if compat:  # spikeRNN's order of operations
                tmp /= tm
                tmp *= dt
            else:
                tmp *= factor
            v += tmp
            xi = chunks.step(i)
            if xi is not None:
                v += xi
            np.greater_equal(v, params.v_threshold, out=fired)
            # filters use the old h, hr: IPSC = IPSC e^{-dt/td} + h dt, r likewise with hr
            A *= dec_d
            if compat:
                np.multiply(H, dt, out=tmp2)
                A += tmp2
            else:  # H holds h * dt and hr * dt: one product less per step
                A += H
            H *= dec_r
            flat = np.flatnonzero(fired)
            if flat.size:
                bi, ni = np.divmod(flat, N)
                dup = bi[1:] == bi[:-1]
                if dup.any():  # column sums of W over each trial's spikers
                    starts = np.flatnonzero(np.r_[True, ~dup])
                    JD = np.add.reduceat(Wt[ni], starts, axis=0)
                    rows = bi[starts]
                else:
                    JD, rows = Wt[ni], bi
                if compat:
                    h[rows] += JD / trtd
                else:
                    h[rows] += JD * dt_trtd
                hr[bi, ni] += hr_jump[ni]
                active[bi, ni] = 0.0
                if compat:
                    tl = tlast[bi, ni]
                    tl = tl + (dt * (i + 1) - tl)
                    tlast[bi, ni] = tl
                    w_at = _wake_step(tl, dt, params.t_ref, n_ref, True, i)
                    wake[bi, ni] = w_at
                    first = int(w_at[0])
                    if np.all(w_at == first):
                        schedule.setdefault(first, []).append((bi, ni))
                    else:
                        for step in np.unique(w_at).tolist():
                            sel = w_at == step
                            schedule.setdefault(step, []).append((bi[sel], ni[sel]))
                    vs = v[bi, ni]
                    vs = vs + (params.v_spike - vs)
                    v_after = vs + (params.v_reset - vs)
                else:
                    wake[bi, ni] = i + n_ref + 1
                    schedule.setdefault(i + n_ref + 1, []).append((bi, ni))
                    vs, v_after = params.v_spike, params.v_reset
                if volts is not None:
                    v[bi, ni] = vs
                spike_flat.append(flat)
                spike_at.append(i)
            if volts is not None:
                volts[:, i] = v[:, units]
            if flat.size:
                v[bi, ni] = v_after
            np.matmul(r, w_out.T, out=out[:, i])
    out += b_out

    trial, step, unit = sorted_spikes(spike_flat, spike_at, N)
    return LIFResult(
        spike_trial=trial, spike_step=step, spike_unit=unit, outputs=out,
        outputs_rate=_to_rate_steps(out, idx, T, resample), voltages=volts, v0=v_start,
        n_steps=nt, steps_per_rate_step=R, dt=dt, excitatory=network.excitatory,
    )


def stacked(network: RateNetwork, u: np.ndarray, params: LIFParams, lams: np.ndarray, *,
            v0: np.ndarray | None = None, noise: np.ndarray | None = None,
            gen: np.random.Generator | None = None, dtype: str = "float32",
            keep_outputs: bool = False, resample: str = "mean",
            units: np.ndarray | None = None, keep_spikes: bool = True,
            progress: Callable[[float], None] | None = None,
            noise_thread: bool = False) -> StackedRun:
    """:func:`._engine.run_stacked` with ``params`` (their ``lam`` ignored for ``lams``);
    ``v0`` drawn from ``gen`` when None, as :func:`simulate_lif` draws it."""
    B, N = u.shape[0], network.N
    if v0 is None:
        low, high = params.v_init
        v0 = low + gen.random((B, N)) * (high - low)
    return run_stacked(
        network, u, np.asarray(lams, dtype=np.float64), R=_steps_per_rate_step(network, params),
        dt=params.dt, tau_m=params.tau_m, n_ref=round(params.t_ref / params.dt),
        v_reset=params.v_reset, v_threshold=params.v_threshold, v_spike=params.v_spike,
        bias=params.bias, tau_rise=params.tau_rise, v0=v0, noise_given=noise, noise_gen=gen,
        noise_sd=params.noise_sd, dtype=np.dtype(dtype).type, keep_outputs=keep_outputs,
        resample=resample, units=units, keep_spikes=keep_spikes, progress=progress,
        noise_thread=noise_thread)


def sorted_spikes(spike_flat: list[np.ndarray], spike_at: list[int],
                  N: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, step, unit) int32 arrays of the spikes, sorted by row, step, unit, from each
    step's flat indices ``row * N + unit``."""
    if not spike_flat:
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty.copy(), empty.copy()
    flat = np.concatenate(spike_flat)
    step = np.repeat(np.asarray(spike_at, dtype=np.int32), [f.size for f in spike_flat])
    trial, unit = (a.astype(np.int32) for a in np.divmod(flat, N))
    order = np.lexsort((unit, step, trial))
    return trial[order], step[order], unit[order]


def _wake_step(tlast: np.ndarray, dt: float, t_ref: float, n_ref: int, compat: bool,
               i: int) -> np.ndarray:
    """First step after a spike at step ``i`` (time ``tlast``) at which a unit integrates."""
    if not compat:
        return np.full(tlast.shape, i + n_ref + 1, dtype=np.int64)
    thr = tlast + t_ref
    # spikeRNN's test dt * (j + 1) > thr decides; thr / dt is within an ulp of the answer, so
    # one step up and one step down settle it (checked below)
    j = np.maximum(np.floor(thr / dt).astype(np.int64), i + 1)
    j += dt * (j + 1) <= thr
    j -= (j > i + 1) & (dt * j > thr)
    if np.any(dt * (j + 1) <= thr) or np.any((j > i + 1) & (dt * j > thr)):
        raise RuntimeError("refractory period could not be resolved")  # pragma: no cover
    return j


def _to_rate_steps(out: np.ndarray, idx: np.ndarray, T: int, how: str) -> np.ndarray:
    """Summarise the LIF steps driven by each rate step (``idx`` is non-decreasing)."""
    starts = np.searchsorted(idx, np.arange(T), side="left")
    ends = np.searchsorted(idx, np.arange(T), side="right")
    res = np.full((out.shape[0], T, out.shape[2]), np.nan)
    has = ends > starts
    if how == "mean":
        sums = np.add.reduceat(out, starts[has], axis=1)
        res[:, has] = sums / (ends - starts)[has][np.newaxis, :, np.newaxis]
    else:
        res[:, has] = out[:, ends[has] - 1]
    return res
