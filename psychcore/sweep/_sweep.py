"""The public :class:`Sweep`: a sweep description that can run itself."""

from __future__ import annotations

import os

from ._description import SweepDescription
from ._runner import SweepResult, run_sweep


class Sweep(SweepDescription):
    """A sweep: one task, spec and training setup, and the axes that vary across runs.

    The description (arguments, file format, validation: see
    :class:`~psychcore.sweep._description.SweepDescription`) plus :meth:`run`.
    """

    def run(
        self,
        out: str | os.PathLike,
        *,
        workers: int | None = None,
        use_ray: bool = False,
        ray_address: str | None = None,
        progress: bool | None = None,
    ) -> SweepResult:
        """Run the sweep into ``out``: :func:`psychcore.sweep.run_sweep` (same options)."""
        return run_sweep(self, out, workers=workers, use_ray=use_ray, ray_address=ray_address,
                         progress=progress)
