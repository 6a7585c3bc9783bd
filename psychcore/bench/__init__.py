"""``psychcore bench``: which backend trains a given network fastest on this machine.

:func:`run_bench` times one training step and one forward pass of a task and spec on every
installed backend (or those named), at one or several network sizes, each backend in its own
child process one after another, so each one's first-step time (from process start, compile
included) and peak memory are its own. It reports, per size, a table of the backends against
the *floor* -- the step's matrix products as plain NumPy GEMMs of their shapes on this machine
(:mod:`psychcore.bench._floor`) -- and which backend is fastest, with the load average, thread
settings and versions needed to read the numbers. Timings are measurements of one run: compare
backends within a run, on a quiet machine (the load average is printed for that reason).
With ``to_accuracy`` (``--to-accuracy``) it also trains each backend to that accuracy from
process start, one process per seed, and reports the median time, trials and how many seeds
reached it (:class:`ToAccuracy`).

The command line::

    psychcore bench PerceptualDiscrimination -s dale_ratio=0.8 --N-rec 50,256,1024
    psychcore bench PerceptualDiscrimination -s dale_ratio=0.8 --N-rec 50 --to-accuracy 0.9

Backends are found through the plugin registry and imported only in the child processes; this
package imports no framework.
"""

from __future__ import annotations

from ._bench import BackendTiming, BenchResult, SizeResult, ToAccuracy, run_bench, write_json
from ._floor import (
    Product,
    combine_floors,
    measure_floor,
    measure_peak,
    step_flops,
    step_products,
)

__all__ = [
    "BackendTiming",
    "BenchResult",
    "Product",
    "SizeResult",
    "ToAccuracy",
    "combine_floors",
    "measure_floor",
    "measure_peak",
    "run_bench",
    "step_flops",
    "step_products",
    "write_json",
]
