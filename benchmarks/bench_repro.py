"""Measure how closely the PyTorch and TensorFlow backends agree, with and without restarts.

Prints one line per case of ``psychcore.check_reproducibility`` on PerceptualDiscrimination
(200 Adam steps, N_rec=50): the largest difference of every compared quantity, for rate RNNs
with and without Dale's law, LSTM and GRU, two batch sizes, restarts before every step
(``sync_every=1``, the default), every ten steps, and never (``0``: free-running), in float32
and float64. The tolerances in ``psychcore/_repro.py`` cite these numbers. The whole grid takes
about half an hour on two cores; ``--only lstm --sync 1`` and the like run a part of it.

    python benchmarks/bench_repro.py [--only rnn,lstm] [--sync 1,10,0] [--batch 32,128]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import psychcore  # noqa: E402
from psychcore import ModelSpec, check_reproducibility  # noqa: E402

CASES = {
    "rnn": {},
    "rnn-dale": {"dale_ratio": 0.8, "autapses": False},
    "lstm": {"architecture": "lstm"},
    "gru": {"architecture": "gru"},
}


def main() -> None:
    """Run the requested part of the grid and print a line per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(CASES), help="cases (comma-separated)")
    parser.add_argument("--sync", default="1,10,0", help="sync_every values")
    parser.add_argument("--batch", default="32,128", help="N_batch values")
    parser.add_argument("--dtypes", default="float32,float64")
    args = parser.parse_args()
    print("case N_batch sync_every dtype ok | largest differences (what: value) | seconds")
    for case in args.only.split(","):
        for n_batch in (int(b) for b in args.batch.split(",")):
            task = psychcore.get_task("PerceptualDiscrimination")(dt=10, tau=100, T=2000,
                                                                   N_batch=n_batch)
            for sync in (int(s) for s in args.sync.split(",")):
                for dtype in args.dtypes.split(","):
                    start = time.perf_counter()
                    report = check_reproducibility(
                        task, ModelSpec(N_rec=50, dtype=dtype, **CASES[case]),
                        ["torch", "tensorflow"], steps=200, sync_every=sync,
                        sensitivity=False, n_test=16)
                    diffs = ", ".join(f"{c.what}: {c.difference:.1e}"
                                      for c in report.comparisons if " vs " in c.pair)
                    print(f"{case} {n_batch} {sync} {dtype} {report.ok} | {diffs} | "
                          f"{time.perf_counter() - start:.0f}", flush=True)


if __name__ == "__main__":
    main()
