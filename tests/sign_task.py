"""A small vectorised task for the core's tests: report the sign of a constant input."""

from __future__ import annotations

import numpy as np

from psychcore import Task


class Sign(Task):
    """Report the sign of a constant input on one of two outputs (easy for a reservoir)."""

    def __init__(self, N_batch=16, level=1.0, seed=None):
        super().__init__(1, 2, 10, 50, 300, N_batch, seed=seed)
        self.level = level

    def generate_batch_params(self, batch, N, rng):
        return {"sign": rng.choice([-1.0, 1.0], N)}

    def batch_function(self, t, params, rng):
        n = len(params["sign"])
        x = np.broadcast_to((self.level * params["sign"])[:, None, None], (n, t.size, 1))
        y = np.zeros((n, t.size, 2))
        y[params["sign"] > 0, :, 0] = 1.0
        y[params["sign"] < 0, :, 1] = 1.0
        mask = np.broadcast_to((t >= 100)[None, :, None], y.shape)
        return x, y, mask

    def accuracy_function(self, correct_output, test_output, output_mask):
        chosen = np.argmax((test_output * output_mask).mean(axis=1), axis=1)
        truth = np.argmax((correct_output * output_mask).mean(axis=1), axis=1)
        return float(np.mean(chosen == truth))
