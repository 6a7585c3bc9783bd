"""The classic cognitive tasks for psychcore.

Eight tasks, each a :class:`psychcore.Task` with both PsychRNN's per-step interface and a
vectorised one that builds a whole batch with array operations. Five classic paradigms:

- :class:`PerceptualDiscrimination` (Britten et al. 1992)
- :class:`DelayedDiscrimination` (Romo et al. 1999)
- :class:`MatchToCategory` (Freedman & Assad 2006)
- :class:`GoNoGo` (Gomez, Ratcliff & Perea 2007)
- :class:`ContextDependentIntegration` (Mante, Sussillo, Shenoy & Newsome 2013)

and the three tasks of spikeRNN (Kim, Li & Sejnowski 2019), with its timing, targets and
success criteria:

- :class:`SpikeRNNGoNoGo`
- :class:`SpikeRNNXOR`
- :class:`SpikeRNNMante`

Installing this distribution registers them with psychcore through the ``psychcore`` entry
point group (see :mod:`psychcore_tasks_classic.plugin`).
"""

from __future__ import annotations

from ._category import MatchToCategory
from ._context import ContextDependentIntegration
from ._delayed import DelayedDiscrimination
from ._gonogo import GoNoGo
from ._perceptual import PerceptualDiscrimination
from ._spikernn_gonogo import SpikeRNNGoNoGo
from ._spikernn_mante import SpikeRNNMante
from ._spikernn_xor import SpikeRNNXOR

TASKS: tuple[type, ...] = (
    PerceptualDiscrimination,
    DelayedDiscrimination,
    MatchToCategory,
    GoNoGo,
    ContextDependentIntegration,
)
"""The five classic task classes, in the order above."""

SPIKERNN_TASKS: tuple[type, ...] = (SpikeRNNGoNoGo, SpikeRNNXOR, SpikeRNNMante)
"""The three tasks of spikeRNN; the plugin registers :data:`TASKS`, then these."""

__all__ = [
    "SPIKERNN_TASKS",
    "TASKS",
    "ContextDependentIntegration",
    "DelayedDiscrimination",
    "GoNoGo",
    "MatchToCategory",
    "PerceptualDiscrimination",
    "SpikeRNNGoNoGo",
    "SpikeRNNMante",
    "SpikeRNNXOR",
]
__version__ = "0.1.0"
