# %% [markdown]
# # Analysis and the run report
#
# `psychcore.train_run` trains a network into a *run directory* (`spec.json`, `weights.npz`,
# `metrics.csv`, `run.json`), exactly as `psychcore train` does. `psychcore.analysis` then
# works on the trained network: psychometric functions, PCA of the population, fixed
# points, lesions. `write_report` (the command `psychcore report RUN_DIR`) writes every
# figure that applies, with an `index.html`.
#
# **Budgets.** With the full budget (`PSYCHCORE_DOCS_QUICK` unset) the network trains to 90%
# validation accuracy (about 40,000 trials) and the report simulates 256 trials with 64
# fixed-point searches; the documentation build (`PSYCHCORE_DOCS_QUICK=1`) trains 1,280
# trials and uses 64 trials and 8 searches, so its figures show an untrained-looking
# network.

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Image, display

import psychcore
from psychcore import ModelSpec
from psychcore import analysis as pa

QUICK = os.environ.get("PSYCHCORE_DOCS_QUICK") == "1"
tmp = Path(tempfile.mkdtemp(prefix="psychcore-tutorial-"))

task = psychcore.get_task("PerceptualDiscrimination")(dt=10, tau=100, T=1000, N_batch=64)
spec = ModelSpec(N_rec=50, dale_ratio=0.8)
result = psychcore.train_run(
    task, spec, tmp / "pd", backend="torch", seed=0, progress=False,
    training_iters=1_280 if QUICK else 100_000, performance_cutoff=0.9, learning_rate=0.005,
    validation_trials=128 if QUICK else 512)
print(result.message)
print(sorted(p.name for p in result.path.iterdir()))

# %% [markdown]
# ## Analysis functions
#
# The functions take arrays and weights; here a psychometric function: the fraction of
# "channel 1" choices against the signed coherence, with a logistic fit.

# %%
model = result.model
x, y, mask, params = task.get_trial_batch(N_batch=256)
outputs, states = model.test(x)
data = pa.choice_probabilities(outputs, params, mask, bins=8)
fit = pa.fit_psychometric(data.levels, data.p_choice, data.n_trials)
print(fit)
pa.plot_psychometric(data, fit)
plt.show()

# %% [markdown]
# ## The report

# %%
report = pa.write_report(result.path, n_trials=64 if QUICK else 256,
                         fixed_point_inits=8 if QUICK else 64, progress=False)
print("written:", ", ".join(report.figures))
print("skipped:", report.skipped)
assert not report.failed, report.failed
for name, path in report.figures.items():
    print(f"{name}: {report.captions.get(name, '')}")
    display(Image(filename=str(path), width=520))
