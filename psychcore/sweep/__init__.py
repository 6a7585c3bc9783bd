"""Sweeps: many networks from one description, locally or on Ray, resumable, tabulated.

A sweep describes one task, ModelSpec and training setup, and the axes that vary: seeds, and
any task, spec or training parameter as a grid (every combination) or zipped (varied
together). Each combination is trained by :func:`psychcore.train_run` into its own run
directory named from its swept values (``seed=3,N_rec=64``), in worker processes or as Ray
tasks; ``results.csv`` tabulates them. See ``examples/sweeps/README.md`` for the file format.

>>> from psychcore.sweep import Sweep
>>> sweep = Sweep.from_file("examples/sweeps/curriculum.toml")       # doctest: +SKIP
>>> result = sweep.run("sweeps/curriculum", workers=2)               # doctest: +SKIP
>>> plot_sweep("sweeps/curriculum", "trials_to_criterion", x="curriculum")  # doctest: +SKIP

Command line: ``psychcore sweep FILE --out DIR [--workers N] [--ray] [--ray-address ADDR]``
and ``psychcore sweep-report DIR --metric METRIC --x AXIS [--group AXIS] --out FIG.png``.
Importing this package imports neither Ray, pyarrow nor matplotlib.
"""

from __future__ import annotations

from ._description import RunConfig
from ._problems import Problem, SweepValidationError
from ._report import SweepReport, aggregate, plot_sweep
from ._results import read_results, trials_to_criterion
from ._runner import SweepBusyError, SweepResult, run_sweep
from ._sweep import Sweep
from ._worker import execute_run

__all__ = [
    "Problem",
    "RunConfig",
    "Sweep",
    "SweepBusyError",
    "SweepReport",
    "SweepResult",
    "SweepValidationError",
    "aggregate",
    "execute_run",
    "plot_sweep",
    "read_results",
    "run_sweep",
    "trials_to_criterion",
]
