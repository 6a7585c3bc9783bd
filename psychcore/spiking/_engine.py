"""The fast LIF loop (``spikernn_compat=False``), stacked over trials and scaling factors.

One simulation runs ``G`` scaling factors on the same ``B`` trials: the state arrays are
``(G, B, N)``, the trials' input, initial voltages and voltage noise are shared by the ``G``
copies (common random numbers), and only the recurrent input and the readout are divided by
each copy's lambda. Per step the work is a dozen in-place operations on ``(G * B, N)`` arrays
in ``float32`` (default) or ``float64``, the noise of ``B x N`` draws taken from chunks of
:data:`CHUNK` steps, and the recurrent input of the neurons that spiked gathered from the rows
of the weight matrix (a spike is sparse: about 0.2 % of the neurons per 0.05 ms step at 40 Hz).

The equations are :func:`~psychcore.spiking.simulate_lif`'s (docs/spiking.md) without
``spikernn_compat``; in ``float64`` they are the reference loop's operations in the same order
(tests/test_spiking.py checks equal rasters).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._network import RateNetwork

CHUNK = 64
"""Steps of noise drawn at once."""


@dataclass
class StackedRun:
    """Raw result of :func:`run_stacked` (``M = G * B`` rows, row ``g * B + b``).

    Attributes:
        spike_flat: Per step with spikes, flat indices ``row * N + unit`` (int32/int64).
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
) -> StackedRun:
    """Simulate ``len(lams)`` copies of the LIF network on the trials ``u`` ``(B, T, N_in)``.

    ``v0`` is ``(B, N)``; ``noise_given`` ``(B, T * R, N)`` standard normal draws, else
    ``noise_gen`` draws them (``standard_normal`` in chunks of ``(CHUNK, B, N)`` in ``dtype``);
    ``units`` the recorded voltages. Every copy starts refractory, as if every neuron had
    spiked at step -1 (spikeRNN's ``tlast = 0``).
    """
    f = dtype
    B, T, _ = u.shape
    G = lams.size
    N = network.N
    M = G * B
    nt = T * R
    td = network.tau
    dec_r = math.exp(-dt / tau_rise)
    gap = np.exp(-dt / td) - dec_r
    if np.any(td < 2 * tau_rise):
        raise ValueError(f"the LIF loop needs every time constant >= 2 * tau_rise "
                         f"({2 * tau_rise} s); the shortest is {td.min()} s")
    # The double-exponential filters (x_k = d x_{k-1} + y_{k-1}, y_k = e y_{k-1} + jump_k) as
    # x = P - Q, with P_k = d P_{k-1} + c jump_k, Q_k = e Q_{k-1} + c jump_k, c = 1/(d - e):
    # two decays per step and no addition. The readout's Q terms all decay by e, so their
    # sum through W_out is one number per trial and output (q).
    c = 1.0 / gap
    inv_lam_rows = np.repeat(1.0 / lams, B).astype(f)  # (M,)
    jump = dt / (tau_rise * td)  # increment of h dt (per spike, times W) and of hr dt
    Wt = network.recurrent_weights(rectified=True).T * (jump * c)[np.newaxis, :]
    Wt = np.ascontiguousarray(Wt, dtype=f)  # row j: what a spike of neuron j adds to P, Q
    w_out_t = np.ascontiguousarray(network.w_out.T, dtype=f)  # (N, N_out)
    r_jump = (jump * c).astype(f)
    q_jump = np.ascontiguousarray((network.w_out * jump * c).T, dtype=f)  # (N, N_out)
    dec_d = np.exp(-dt / td).astype(f)
    dec_e = f(dec_r)
    # the voltage is kept relative to the external input of the current rate step,
    # w = v - (W_in u_t + b_rec + bias): no addition per step, a shift per rate step
    ext = np.ascontiguousarray(
        (u @ network.w_in.T + network.b_rec + bias).transpose(1, 0, 2), dtype=f)  # (T, B, N)
    thr = f(v_threshold)
    noise_div = f(1.0 / noise_sd) if noise_sd > 0 else None

    PP = np.zeros((G, B, 2, N), dtype=f)  # [P of IPSC, P of r]: decay td
    P_I = PP[:, :, 0]
    P_I2, P_r2 = PP.reshape(M, 2, N)[:, 0], PP.reshape(M, 2, N)[:, 1]
    Q = np.zeros((G, B, N), dtype=f)  # Q of IPSC: decay tr
    Q2 = Q.reshape(M, N)
    q = np.zeros((M, network.N_out), dtype=f)  # W_out (Q of r): decay tr
    w = np.empty((G, B, N), dtype=f)
    w[:] = (v0 - ext[0]).astype(f)
    wflat = w.reshape(-1)
    thr_w = thr - ext[0]  # (B, N)
    activef = np.zeros(M * N, dtype=f)  # dt / tau_m when integrating, 0 when refractory
    active2 = activef.reshape(G, B, N)
    last = np.full(M * N, -1, dtype=np.int64)  # step of each neuron's last spike
    counts = np.zeros(M * N, dtype=np.int64)
    tmp = np.empty((G, B, N), dtype=f)
    fired = np.empty(M * N, dtype=bool)
    fired3 = fired.reshape(G, B, N)
    index = np.arange(M * N, dtype=np.int64)
    block = np.empty((M, R, network.N_out), dtype=f)  # readout over one rate step
    out_rate = np.empty((M, T, network.N_out), dtype=np.float64)
    outputs = np.empty((M, nt, network.N_out), dtype=f) if keep_outputs else None
    volts = None if units is None else np.empty((M, nt, units.size), dtype=f)
    chunk = np.empty((min(CHUNK, nt), B, N), dtype=f)
    xi_buf = np.empty((B, N), dtype=f)
    spike_flat: list[np.ndarray] = []
    spike_at: list[int] = []
    by_step: dict[int, np.ndarray] = {}
    dense_above = M * N // 16  # more spikes in one step: the recurrent input as a product
    factor = f(dt / tau_m)

    for i in range(nt):
        t, k = divmod(i, R)
        if k == 0 and t > 0:  # a new rate step: shift to its input
            w -= ext[t] - ext[t - 1]
            thr_w = thr - ext[t]
        back = i - n_ref - 1
        if back == -1:  # the initial refractory period ends
            activef[index[last == -1]] = factor
        elif back >= 0:
            prev = by_step.pop(back, None)
            if prev is not None:
                activef[prev[last[prev] == back]] = factor
        # dv = active * (I - v) / tm * dt, I = IPSC + ext ; v += dv + noise / (1 / noise_sd)
        np.subtract(P_I, Q, out=tmp)
        tmp -= w
        tmp *= active2
        w += tmp
        if noise_div is not None:
            if noise_given is not None:
                np.divide(noise_given[:, i], noise_div, out=xi_buf)
                xi = xi_buf
            else:
                cc = i % CHUNK
                if cc == 0:
                    n = min(CHUNK, nt - i)
                    noise_gen.standard_normal(out=chunk[:n], dtype=f)
                    chunk[:n] /= noise_div
                    if progress is not None:
                        progress(i / nt)
                xi = chunk[cc]
            w += xi
        np.greater_equal(w, thr_w, out=fired3)
        PP *= dec_d
        Q *= dec_e
        q *= dec_e
        flat = index[fired]
        if flat.size:
            rows, ni = np.divmod(flat, N)
            if flat.size > dense_above:
                S = np.zeros(M * N, dtype=f)
                S[flat] = inv_lam_rows[rows]
                D = S.reshape(M, N) @ Wt
                P_I2 += D
                Q2 += D
            else:
                _add_rows(P_I2, Q2, Wt, inv_lam_rows, rows, ni)
            P_r2[rows, ni] += r_jump[ni]
            np.add.at(q, rows, q_jump[ni])
            activef[flat] = 0
            last[flat] = i
            counts[flat] += 1
            by_step[i] = flat
            if keep_spikes:
                spike_flat.append(flat)
                spike_at.append(i)
            if volts is not None:
                wflat[flat] = v_spike - ext[t].reshape(-1)[flat % (B * N)]
        if volts is not None:
            volts[:, i] = (w + ext[t]).reshape(M, N)[:, units]
        if flat.size:
            wflat[flat] = v_reset - ext[t].reshape(-1)[flat % (B * N)]
        np.matmul(P_r2, w_out_t, out=block[:, k])
        block[:, k] -= q
        if k == R - 1:
            block *= inv_lam_rows[:, np.newaxis, np.newaxis]
            block += network.b_out.astype(f)
            if outputs is not None:
                outputs[:, i - R + 1: i + 1] = block
            if resample == "mean":
                out_rate[:, t] = block.mean(axis=1, dtype=np.float64)
            else:
                out_rate[:, t] = block[:, -1]
    if progress is not None:
        progress(1.0)
    return StackedRun(spike_flat=spike_flat, spike_at=spike_at, counts=counts.reshape(M, N),
                      outputs=outputs,
                      outputs_rate=out_rate, voltages=volts)


def _add_rows(P: np.ndarray, Q: np.ndarray, Wt: np.ndarray, scale: np.ndarray,
              rows: np.ndarray, cols: np.ndarray) -> None:
    """``P[rows[s]] += Wt[cols[s]] * scale[rows[s]]`` (and ``Q`` likewise) for every spike
    ``s``; ``rows`` is sorted and may repeat (several spikes in one trial): the first spike of
    each row is added, then the next, so no fancy-indexed addition sees a row twice (NumPy's
    ``add.at`` and ``add.reduceat`` over rows are several times slower)."""
    while rows.size:
        first = np.empty(rows.size, dtype=bool)
        first[0] = True
        np.not_equal(rows[1:], rows[:-1], out=first[1:])
        rf = rows[first]
        J = Wt[cols[first]]
        J *= scale[rf][:, np.newaxis]
        P[rf] += J
        Q[rf] += J
        if first.all():
            return
        rest = ~first
        rows, cols = rows[rest], cols[rest]
