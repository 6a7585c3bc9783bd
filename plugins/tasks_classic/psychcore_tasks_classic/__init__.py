"""The classic cognitive tasks for psychcore.

Five tasks, each a :class:`psychcore.Task` with both PsychRNN's per-step interface and a
vectorised one that builds a whole batch with array operations:

- :class:`PerceptualDiscrimination` (Britten et al. 1992)
- :class:`DelayedDiscrimination` (Romo et al. 1999)
- :class:`MatchToCategory` (Freedman & Assad 2006)
- :class:`GoNoGo` (Gomez, Ratcliff & Perea 2007)
- :class:`ContextDependentIntegration` (Mante, Sussillo, Shenoy & Newsome 2013)

Installing this distribution registers them with psychcore through the ``psychcore`` entry
point group (see :mod:`psychcore_tasks_classic.plugin`).
"""

from __future__ import annotations

from ._category import MatchToCategory
from ._context import ContextDependentIntegration
from ._delayed import DelayedDiscrimination
from ._gonogo import GoNoGo
from ._perceptual import PerceptualDiscrimination

TASKS: tuple[type, ...] = (
    PerceptualDiscrimination,
    DelayedDiscrimination,
    MatchToCategory,
    GoNoGo,
    ContextDependentIntegration,
)
"""The five task classes, in the order above (what the plugin registers)."""

__all__ = [
    "TASKS",
    "ContextDependentIntegration",
    "DelayedDiscrimination",
    "GoNoGo",
    "MatchToCategory",
    "PerceptualDiscrimination",
]
__version__ = "0.1.0"
