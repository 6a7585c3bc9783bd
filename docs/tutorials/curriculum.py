# %% [markdown]
# # Curriculum learning
#
# A `psychcore.Curriculum` trains a network on a sequence of tasks, moving on when the
# validation accuracy of the current stage reaches its threshold. Here the stages are
# perceptual discrimination at falling coherences (0.7, 0.5, 0.3, then the target 0.1), as in
# the PsychRNN paper's curriculum figure, compared with training on coherence 0.1 directly.
#
# **Budgets.** Full budget (`PSYCHCORE_DOCS_QUICK` unset): up to 40,000 trials per run.
# `examples/sweeps/curriculum.toml` makes the same comparison over 10 seeds
# (`psychcore sweep examples/sweeps/curriculum.toml --out runs/curriculum`, about 75 s on two
# cores) and `docs/paper.md` reports its result. The documentation build
# (`PSYCHCORE_DOCS_QUICK=1`) trains each run for at most 1,600 trials, so the curriculum may
# not get past its first stages.

# %%
import os

import matplotlib.pyplot as plt

import psychcore
from psychcore import Curriculum, ModelSpec

QUICK = os.environ.get("PSYCHCORE_DOCS_QUICK") == "1"
budget = 1_600 if QUICK else 40_000
PD = psychcore.get_task("PerceptualDiscrimination")


def make_task(coherence, seed):
    return PD(dt=10, tau=100, T=500, N_batch=32, coherence=coherence, seed=seed)


spec = ModelSpec(N_rec=32, dale_ratio=0.8, autapses=False)

# %% [markdown]
# Every stage is its own task; all of them must share `N_in`, `N_out`, `dt` and `tau`. The
# curriculum tests the current stage every `metric_epoch` training steps and records every
# test in `metric_values` and every passed stage in `history`.

# %%
stages = [make_task(c, seed=i) for i, c in enumerate((0.7, 0.5, 0.3, 0.1))]
curriculum = Curriculum(stages, thresholds=[0.9] * 4, metric_epoch=5)
model = psychcore.Model(stages[-1], spec, backend="torch", seed=0)
model.train(stages[0], training_iters=budget, learning_rate=0.01, curriculum=curriculum,
            verbosity=False)
print("stage reached:", curriculum.stage, "of", len(stages))
for transition in curriculum.history:
    print(transition)

# %% [markdown]
# The same network trained on the hardest stage from the start, with the same budget:

# %%
direct = psychcore.Model(stages[-1], spec, backend="torch", seed=0)
direct.train(stages[-1], training_iters=budget, learning_rate=0.01, performance_cutoff=0.9,
             verbosity=False)

target = make_task(0.1, seed=100)
x, y, mask, _ = target.get_trial_batch(N_batch=256)
for name, m in (("curriculum", model), ("direct", direct)):
    outputs, _ = m.test(x)
    print(f"{name}: accuracy at coherence 0.1 = {target.accuracy_function(y, outputs, mask):.3f}")

# %%
values = [v for v, _ in curriculum.metric_values]
stage_of = [s for _, s in curriculum.metric_values]
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(values, marker="o")
for i in range(1, len(stage_of)):
    if stage_of[i] != stage_of[i - 1]:
        ax.axvline(i - 0.5, color="0.6", ls="--")
ax.set_xlabel(f"test (every {curriculum.metric_epoch} steps)")
ax.set_ylabel("stage accuracy")
ax.set_title("the curriculum's tests; dashed: a stage passed")
plt.show()
