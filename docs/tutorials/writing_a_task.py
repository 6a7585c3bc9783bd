# %% [markdown]
# # Writing a task: PsychRNN style, then vectorised
#
# A task is a subclass of `psychcore.Task`. This tutorial writes a delayed frequency
# comparison (after Romo et al. 1999) twice: first the PsychRNN way, one time step of one
# trial at a time, then vectorised, a whole batch with array operations. It checks both with
# the conformance suite `psychcore.testing.check_task`, shows that they build the same trials,
# measures how much faster the vectorised path is, and trains a network on the task.
#
# **Budgets.** With the full budget (`PSYCHCORE_DOCS_QUICK` unset) the network trains for up
# to 60,000 trials with a 90% cutoff; in the documentation build (`PSYCHCORE_DOCS_QUICK=1`)
# it trains 30 steps only, which shows the mechanics but not a trained network.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np

import psychcore
from psychcore import Task
from psychcore.testing import check_task

QUICK = os.environ.get("PSYCHCORE_DOCS_QUICK") == "1"
FREQUENCIES = np.array([10.0, 18.0, 26.0, 34.0])

# %% [markdown]
# ## The PsychRNN way
#
# Two methods define the task. `generate_trial_params(batch, trial)` draws one trial's
# parameters, from `self.rng` (the task's seeded `numpy.random.Generator`) so that a seed
# gives identical batches. `trial_function(t, params)` returns the input, target and mask of
# that trial at time `t` (ms). A PsychRNN task file works with only its import line changed.
# The constructor takes `dt`, `tau`, `T`, `N_batch` and `seed` as keywords, which is what
# `psychcore train`, sweeps and reports need; `stim_noise` names the input noise so that the
# conformance suite can switch it off to compare the two paths.

# %%
class Romo(Task):
    """Compare two vibration frequencies separated by a delay (Romo et al. 1999)."""

    description = "Is f1 > f2? Two frequencies separated by a delay"

    def __init__(self, dt=10, tau=100, T=1200, N_batch=64, *, seed=None):
        super().__init__(2, 2, dt, tau, T, N_batch, seed=seed)
        self.stim_noise = 0.05

    def generate_trial_params(self, batch, trial):
        f1, f2 = self.rng.choice(FREQUENCIES, size=2, replace=False)
        return {"f1": float(f1), "f2": float(f2), "stim_noise": self.stim_noise}

    def trial_function(self, t, params):
        x_t = np.zeros(2)
        y_t = np.zeros(2)
        mask_t = np.ones(2)
        if 100 <= t < 300:
            x_t[0] = params["f1"] / FREQUENCIES.max()
        if 600 <= t < 800:
            x_t[1] = params["f2"] / FREQUENCIES.max()
        x_t += np.sqrt(2 * self.alpha) * params["stim_noise"] * self.rng.standard_normal(2)
        if t >= 900:
            y_t[int(params["f1"] > params["f2"])] = 1.0
        elif t >= 800:
            mask_t[:] = 0.0  # a grace period after the second stimulus
        return x_t, y_t, mask_t

    def accuracy_function(self, correct_output, test_output, output_mask):
        """A trial is correct when the larger mean output in the decision period is the target's."""
        decision = output_mask[:, :, 0] > 0
        decision[:, : int(900 / self.dt)] = False
        def choice(outputs):
            return np.array([o[d].mean(axis=0).argmax()
                             for o, d in zip(outputs, decision, strict=True)])

        return float(np.mean(choice(test_output) == choice(correct_output)))


task = Romo(seed=0)
x, y, mask, params = task.get_trial_batch()
print(x.shape, y.shape, mask.shape, params[0])

# %%
fig, axes = plt.subplots(3, 1, figsize=(7, 4.5), sharex=True)
for ax, data, label in zip(axes, (x[0], y[0], mask[0]), ("input", "target", "mask"), strict=True):
    ax.plot(task.time, data)
    ax.set_ylabel(label)
axes[-1].set_xlabel("time (ms)")
fig.suptitle(f"trial 0: f1={params[0]['f1']:g} Hz, f2={params[0]['f2']:g} Hz")
plt.show()

# %% [markdown]
# ## Vectorised
#
# The per-step path calls Python once per step and trial: 64 trials of 120 steps are 7,680
# calls. The vectorised pair builds the whole batch at once:
# `generate_batch_params(batch, N, rng)` returns a dict of arrays of length `N` with the same
# keys, and `batch_function(t, params, rng)` returns arrays of shape `(N, N_steps, N_in)`,
# `(N, N_steps, N_out)` and `(N, N_steps, N_out)` computed over the vector `t` of step times.
# A task that defines both trains on the vectorised path; `check_task` verifies that, with the
# noise off, the two build the same trials.

# %%
class FastRomo(Romo):
    def generate_batch_params(self, batch, N, rng):
        pairs = np.array([rng.choice(FREQUENCIES, size=2, replace=False) for _ in range(N)])
        return {"f1": pairs[:, 0], "f2": pairs[:, 1], "stim_noise": np.full(N, self.stim_noise)}

    def batch_function(self, t, params, rng):
        N = len(params["f1"])
        t = t[None, :]  # (1, N_steps), broadcast against (N, 1)
        x = np.zeros((N, t.size, 2))
        x[:, :, 0] = ((t >= 100) & (t < 300)) * params["f1"][:, None] / FREQUENCIES.max()
        x[:, :, 1] = ((t >= 600) & (t < 800)) * params["f2"][:, None] / FREQUENCIES.max()
        noise = np.sqrt(2 * self.alpha) * params["stim_noise"][:, None, None]
        x += noise * rng.standard_normal(x.shape)
        choice = (params["f1"] > params["f2"]).astype(int)
        y = np.zeros((N, t.size, 2))
        y[np.arange(N), :, choice] = 1.0
        y *= (t >= 900)[:, :, None]
        mask = np.broadcast_to(~((t >= 800) & (t < 900)), (N, t.size))[:, :, None]
        return x, y, np.repeat(mask, 2, axis=2).astype(float)


print(check_task(FastRomo(N_batch=16, seed=0)))
fast = FastRomo(seed=0)

# %%
def median_ms(make_batch, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        make_batch()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


slow_ms = median_ms(lambda: fast.get_trial_batch(vectorized=False))
fast_ms = median_ms(lambda: fast.get_trial_batch(vectorized=True))
print(f"per-step path: {slow_ms:.1f} ms per batch; vectorised: {fast_ms:.2f} ms "
      f"({slow_ms / fast_ms:.0f}x faster)")

# %% [markdown]
# ## Training on it
#
# The task needs nothing else to be trained: `Model` reads `N_in`, `N_out`, `dt` and `tau`
# from it.

# %%
task = FastRomo(N_batch=32 if QUICK else 64, seed=1)
model = psychcore.Model(task, psychcore.ModelSpec(N_rec=50, dale_ratio=0.8), backend="torch",
                        seed=0)
iters = 30 * task.N_batch if QUICK else 60_000
model.train(task, training_iters=iters, performance_cutoff=0.9, verbosity=False)
x, y, mask, _ = task.get_trial_batch()
outputs, _ = model.test(x)
print("accuracy:", task.accuracy_function(y, outputs, mask))
