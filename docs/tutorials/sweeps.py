# %% [markdown]
# # Sweeps: many networks from one description
#
# A sweep trains every combination of some *axes* (seeds, and any task, spec or training
# parameter), each into its own run directory, and collects a results table. The same
# description can be a TOML file for `psychcore sweep FILE --out DIR`
# (`examples/sweeps/README.md`, also on the [sweeps page](../sweeps.md)) or, as here,
# Python keyword arguments of `psychcore.sweep.Sweep`.
#
# **Budgets.** The full budget (`PSYCHCORE_DOCS_QUICK` unset) is 3 seeds x 3 network sizes of
# 200 steps each, on two worker processes. The documentation build (`PSYCHCORE_DOCS_QUICK=1`)
# runs 2 seeds x 2 sizes of 20 steps in this process (`workers=0`).

# %%
import os
import tempfile
from pathlib import Path

from IPython.display import Image, display

from psychcore.sweep import Sweep, plot_sweep, read_results

QUICK = os.environ.get("PSYCHCORE_DOCS_QUICK") == "1"
steps = 20 if QUICK else 200
tmp = Path(tempfile.mkdtemp(prefix="psychcore-sweep-"))

sweep = Sweep(
    name="size",
    task="PerceptualDiscrimination",
    task_params={"dt": 10, "tau": 100, "T": 500, "N_batch": 16},
    spec={"dale_ratio": 0.8},
    training={"training_iters": steps * 16, "learning_rate": 0.01, "loss_epoch": 5,
              "checkpoint_epoch": 10},
    backend="torch",
    seeds=[0, 1] if QUICK else [0, 1, 2],
    grid={"spec.N_rec": [8, 16] if QUICK else [8, 16, 32]},
)

# %% [markdown]
# `run` validates the whole description first (every problem is listed at once), then
# trains. Rerunning the same sweep into the same directory resumes it: finished runs are
# skipped.

# %%
result = sweep.run(tmp / "size", workers=0 if QUICK else 2, progress=False)
print(result.counts)
for row in result.rows:
    print(row["run"], f"accuracy={float(row['accuracy']):.3f}")

# %%
again = sweep.run(tmp / "size", workers=0, progress=False)
print("second call:", again.counts)

# %% [markdown]
# The results table is `results.csv` (and `results.parquet` with `pyarrow`);
# `plot_sweep` (the command `psychcore sweep-report`) plots a metric against a swept axis,
# mean ± SEM over seeds, and writes the numbers beside the figure.

# %%
rows = read_results(tmp / "size")
print(sorted(rows[0]))
report = plot_sweep(tmp / "size", metric="accuracy", x="N_rec")
display(Image(filename=str(report.figure), width=480))
