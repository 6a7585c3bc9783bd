"""The fast LIF loop (``spikernn_compat=False``), stacked over trials and scaling factors.

One simulation runs ``G`` scaling factors on the same ``B`` trials: the state arrays are
``(G * B, N)`` (row ``g * B + b``), the trials' input, initial voltages and voltage noise are
shared by the ``G`` copies (common random numbers), and only the recurrent input and the
readout are divided by each copy's lambda. Per step the work is a dozen in-place operations on
``(G * B, N)`` arrays in ``float32`` (default) or ``float64``, the ``B x N`` noise draws
(:class:`~._noise.NoiseSource`, optionally drawn ahead in a thread), and the recurrent input
of the neurons that spiked gathered from the rows of a weight table (a spike is sparse: about
0.2 % of the neurons per 0.05 ms step at 40 Hz).

The equations are :func:`~psychcore.spiking.simulate_lif`'s (docs/spiking.md) without
``spikernn_compat``; the synaptic current is filtered as the reference loop filters it, and in
``float64`` the rasters equal the reference loop's (tests/test_spiking.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._network import RateNetwork
from ._noise import CHUNK, NoiseSource


@dataclass
class StackedRun:
    """Raw result of :func:`run_stacked` (``M = G * B`` rows, row ``g * B + b``).

    Attributes:
        spike_flat: Per step with spikes, flat indices ``row * N + unit`` (int64).
        spike_at: The steps of ``spike_flat`` (both empty when spikes were not kept).
        counts: ``(M, N)`` spikes of each neuron in each row.
        outputs: ``(M, n_steps, N_out)`` readout at every step, or None when not kept.
        outputs_rate: ``(M, T, N_out)`` readout summarised per rate step.
        voltages: ``(M, n_steps, units)`` or None.
    """

    spike_flat: list[np.ndarray]
    spike_at: list[int]
    counts: np.ndarray
    outputs: np.ndarray | None
    outputs_rate: np.ndarray
    voltages: np.ndarray | None


def run_stacked(
    network: RateNetwork,
    u: np.ndarray,
    lams: np.ndarray,
    *,
    R: int,
    dt: float,
    tau_m: float,
    n_ref: int,
    v_reset: float,
    v_threshold: float,
    v_spike: float,
    bias: float,
    tau_rise: float,
    v0: np.ndarray,
    noise_given: np.ndarray | None,
    noise_gen: np.random.Generator | None,
    noise_sd: float,
    dtype: type,
    keep_outputs: bool,
    resample: str,
    units: np.ndarray | None,
    keep_spikes: bool = True,
    progress: Callable[[float], None] | None = None,
    noise_thread: bool = False,
) -> StackedRun:
    """Simulate ``len(lams)`` copies of the LIF network on the trials ``u`` ``(B, T, N_in)``.

    ``v0`` is ``(B, N)``; ``noise_given`` ``(B, T * R, N)`` standard normal draws, else
    ``noise_gen`` draws them (:class:`~._noise.NoiseSource`; in a worker thread with
    ``noise_thread``); ``units`` the recorded voltages. Every copy starts refractory, as if
    every neuron had spiked at step -1 (spikeRNN's ``tlast = 0``).
    """
    f = dtype
    B, T, _ = u.shape
    G = lams.size
    N = network.N
    n_out = network.N_out
    M = G * B
    nt = T * R
    td = network.tau
    dec_r = math.exp(-dt / tau_rise)
    if np.any(td < 2 * tau_rise):
        raise ValueError(f"the LIF loop needs every time constant >= 2 * tau_rise "
                         f"({2 * tau_rise} s); the shortest is {td.min()} s")
    # The synaptic current x (IPSC) as the reference loop filters it: x_k = d x_{k-1} + y_{k-1},
    # y_k = e y_{k-1} + jumps_k, y = h dt. The readout's filter r = P - Q with
    # P_k = d P_{k-1} + c jump_k, Q_k = e Q_{k-1} + c jump_k, c = 1 / (d - e): Q decays by the
    # scalar e, so W_out Q is one number per row and output (q), kept beside y in yq.
    jump = dt / (tau_rise * td)  # increment of h dt (per spike, times W) and of hr dt
    c_jump = jump / (np.exp(-dt / td) - dec_r)
    # row g * N + j of K: what a spike of neuron j in a row of lambda g adds to [y, q]
    K = np.empty((G, N, N + n_out), dtype=f)
    w_t = network.recurrent_weights(rectified=True).T
    for g, lam in enumerate(lams):
        K[g, :, :N] = w_t * (jump / lam)[np.newaxis, :]
    K[:, :, N:] = (network.w_out * c_jump).T
    K = K.reshape(G * N, N + n_out)
    flat_all = np.arange(M * N, dtype=np.int64)
    k_row = flat_all // (B * N) * N + flat_all % N  # row of K for each flat index
    p_jump = np.tile(c_jump.astype(f), M)  # what a spike adds to P, per flat index
    inv_lam_rows = np.repeat(1.0 / lams, B).astype(f)  # (M,)
    w_out_t = np.ascontiguousarray(network.w_out.T, dtype=f)  # (N, N_out)
    dec_d = np.tile(np.exp(-dt / td).astype(f), (M, 1))  # (M, N): no broadcasting per step
    dec_e = f(dec_r)
    # the voltage is kept relative to the external input of the current rate step,
    # w = v - (W_in u_t + b_rec + bias): no addition per step, a shift per rate step
    ext = np.ascontiguousarray(
        (u @ network.w_in.T + network.b_rec + bias).transpose(1, 0, 2), dtype=f)  # (T, B, N)
    thr = f(v_threshold)

    x = np.zeros((M, N), dtype=f)
    yq = np.zeros((M, N + n_out), dtype=f)
    y, q = yq[:, :N], yq[:, N:]
    P = np.zeros(M * N, dtype=f)
    P2 = P.reshape(M, N)
    w = np.empty((G, B, N), dtype=f)
    w[:] = (v0 - ext[0]).astype(f)
    w2, wflat = w.reshape(M, N), w.reshape(-1)
    thr_w = thr - ext[0]  # (B, N)
    activef = np.zeros(M * N, dtype=f)  # dt / tau_m when integrating, 0 when refractory
    active2 = activef.reshape(M, N)
    last = np.full(M * N, -1, dtype=np.int64)  # step of each neuron's last spike
    counts = np.zeros(M * N, dtype=np.int64)
    tmp = np.empty((M, N), dtype=f)
    fired = np.empty(M * N, dtype=bool)
    fired3 = fired.reshape(G, B, N)
    block = np.empty((M, R, n_out), dtype=f)  # readout over one rate step
    out_rate = np.empty((M, T, n_out), dtype=np.float64)
    outputs = np.empty((M, nt, n_out), dtype=f) if keep_outputs else None
    volts = None if units is None else np.empty((M, nt, units.size), dtype=f)
    spike_flat: list[np.ndarray] = []
    spike_at: list[int] = []
    by_step: dict[int, np.ndarray] = {}
    uncounted: list[np.ndarray] = []  # the current rate step's spikes, counted at its end
    dense_above = M * N // 16  # more spikes in one step: the recurrent input as a product
    factor = f(dt / tau_m)
    b_out = network.b_out.astype(f)
    reset_w = spike_w = None  # v_reset and v_spike relative to the rate step's input

    with NoiseSource(noise_gen, noise_given, (B, N), nt, noise_sd, f,
                     thread=noise_thread) as noise:
        for i in range(nt):
            t, k = divmod(i, R)
            if k == 0:  # a new rate step: shift to its input
                if t > 0:
                    w -= ext[t] - ext[t - 1]
                    thr_w = thr - ext[t]
                reset_w = np.tile((v_reset - ext[t]).reshape(-1), G)
                if volts is not None:
                    spike_w = np.tile((v_spike - ext[t]).reshape(-1), G)
            if progress is not None and i % CHUNK == 0:
                progress(i / nt)
            back = i - n_ref - 1
            if back == -1:  # the initial refractory period ends
                activef[flat_all[last == -1]] = factor
            elif back >= 0:
                prev = by_step.pop(back, None)
                if prev is not None:
                    activef[prev[last[prev] == back]] = factor
            # dv = active * (I - v) / tm * dt, I = IPSC + ext ; v += dv + noise / (1 / noise_sd)
            np.subtract(x, w2, out=tmp)
            tmp *= active2
            w2 += tmp
            xi = noise.step(i)
            if xi is not None:
                w += xi
            np.greater_equal(w, thr_w, out=fired3)
            x *= dec_d  # the filters use the old y
            x += y
            yq *= dec_e
            P2 *= dec_d
            flat = flat_all[fired]
            if flat.size:
                rows = flat // N
                if flat.size > dense_above:
                    S = np.zeros((M, N), dtype=f)
                    S.reshape(-1)[flat] = 1
                    yq += np.matmul(S.reshape(G, B, N),
                                    K.reshape(G, N, N + n_out)).reshape(M, N + n_out)
                else:
                    _add_rows(yq, K, rows, k_row[flat])
                P[flat] += p_jump[flat]
                activef[flat] = 0
                last[flat] = i
                by_step[i] = flat
                uncounted.append(flat)
                if keep_spikes:
                    spike_flat.append(flat)
                    spike_at.append(i)
                if volts is not None:
                    wflat[flat] = spike_w[flat]
            if volts is not None:
                volts[:, i] = (w + ext[t]).reshape(M, N)[:, units]
            if flat.size:
                wflat[flat] = reset_w[flat]
            np.matmul(P2, w_out_t, out=block[:, k])
            block[:, k] -= q
            if k == R - 1:
                _end_rate_step(block, inv_lam_rows, b_out, outputs,
                               out_rate, i, t, resample)
                if uncounted:
                    counts += np.bincount(np.concatenate(uncounted), minlength=M * N)
                    uncounted.clear()
    if progress is not None:
        progress(1.0)
    return StackedRun(spike_flat=spike_flat, spike_at=spike_at, counts=counts.reshape(M, N),
                      outputs=outputs, outputs_rate=out_rate, voltages=volts)


def _end_rate_step(block: np.ndarray, inv_lam_rows: np.ndarray, b_out: np.ndarray,
                   outputs: np.ndarray | None, out_rate: np.ndarray, i: int, t: int,
                   resample: str) -> None:
    """The readout of the rate step ``t`` ending at step ``i``: divided by lambda, plus the
    bias, kept and summarised."""
    R = block.shape[1]
    block *= inv_lam_rows[:, np.newaxis, np.newaxis]
    block += b_out
    if outputs is not None:
        outputs[:, i - R + 1: i + 1] = block
    if resample == "mean":
        out_rate[:, t] = block.mean(axis=1, dtype=np.float64)
    else:
        out_rate[:, t] = block[:, -1]


def _add_rows(Z: np.ndarray, K: np.ndarray, rows: np.ndarray, k: np.ndarray) -> None:
    """``Z[rows[s]] += K[k[s]]`` for every spike ``s``. ``rows`` is sorted and may repeat
    (several spikes in one row): a fancy-indexed addition adds once per distinct row, so the
    spikes go in in layers, the first spike of each row, then the second, ... (NumPy's
    ``add.at`` and ``add.reduceat`` over rows are several times slower)."""
    first = np.empty(rows.size, dtype=bool)
    first[0] = True
    np.not_equal(rows[1:], rows[:-1], out=first[1:])
    if first.all():
        Z[rows] += K[k]
        return
    Z[rows[first]] += K[k[first]]
    pos = np.arange(rows.size)
    rank = pos - np.maximum.accumulate(np.where(first, pos, 0))  # place in its row
    for r in range(1, int(rank.max()) + 1):
        sel = rank == r
        Z[rows[sel]] += K[k[sel]]
