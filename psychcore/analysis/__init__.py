"""Analysis of trained networks: behaviour, population dynamics, connectivity, fixed points,
lesions and perturbations, and the ``psychcore report`` figures.

Everything works on a weights dict (docs/equations.md) and the NumPy
:class:`~psychcore.Simulator`; no training backend is needed. The functions that fit,
optimise or plot import scipy and matplotlib when called (``pip install
"psychcore[analysis]"``); importing this package imports neither.

- Behaviour: :func:`choices`, :func:`correct_trials`, :func:`signed_coherence`,
  :func:`choice_probabilities`, :func:`fit_psychometric`, :func:`plot_psychometric`,
  :func:`plot_trial`.
- Population: :func:`condition_averages`, :func:`pca`, :func:`plot_pca_trajectories`,
  :func:`plot_unit_traces`.
- Connectivity: :func:`plot_weights`, :func:`eigenvalue_spectrum`, :func:`plot_spectrum`,
  :func:`unit_types`.
- Fixed points: :class:`EulerMap`, :func:`find_fixed_points`,
  :func:`sample_initial_states`.
- Perturbations: :func:`lesion`, :func:`lesion_by_type`, :func:`connection_counts`,
  :func:`windowed_connectivity`, :func:`silencing_connectivity`, :func:`silence_units`,
  :func:`stimulate_units`, :func:`run_perturbed`, :func:`accuracy_drop`.
- Report: :func:`write_report` (``psychcore report RUN_DIR``).
- Spiking: :func:`write_spiking` (``psychcore spiking RUN_DIR``: LIF conversion, lambda
  search and figures), :func:`load_spiking_network`.
"""

from __future__ import annotations

from ._behaviour import choices, correct_trials, plot_trial
from ._connectivity import eigenvalue_spectrum, plot_spectrum, plot_weights, unit_types
from ._fixed_points import (
    EulerMap,
    FixedPoints,
    find_fixed_points,
    sample_initial_states,
    transfer_derivative,
)
from ._perturbation import (
    PAIRINGS,
    AccuracyDrop,
    Perturbation,
    accuracy_drop,
    connection_counts,
    lesion,
    lesion_by_type,
    run_perturbed,
    silence_units,
    silencing_connectivity,
    stimulate_units,
    windowed_connectivity,
)
from ._population import (
    ConditionAverages,
    PCAResult,
    condition_averages,
    condition_colorbar,
    condition_colors,
    pca,
    plot_pca_trajectories,
    plot_unit_traces,
)
from ._psychometric import (
    ChoiceData,
    PsychometricFit,
    choice_probabilities,
    fit_psychometric,
    plot_psychometric,
    signed_coherence,
)
from ._report import ReportResult, write_report
from ._spiking import SpikingResult, load_spiking_network, write_spiking

__all__ = [
    "PAIRINGS",
    "AccuracyDrop",
    "ChoiceData",
    "ConditionAverages",
    "EulerMap",
    "FixedPoints",
    "PCAResult",
    "Perturbation",
    "PsychometricFit",
    "ReportResult",
    "SpikingResult",
    "accuracy_drop",
    "choice_probabilities",
    "choices",
    "condition_averages",
    "condition_colorbar",
    "condition_colors",
    "connection_counts",
    "correct_trials",
    "eigenvalue_spectrum",
    "find_fixed_points",
    "fit_psychometric",
    "lesion",
    "lesion_by_type",
    "load_spiking_network",
    "pca",
    "plot_pca_trajectories",
    "plot_psychometric",
    "plot_spectrum",
    "plot_trial",
    "plot_unit_traces",
    "plot_weights",
    "run_perturbed",
    "sample_initial_states",
    "signed_coherence",
    "silence_units",
    "silencing_connectivity",
    "stimulate_units",
    "transfer_derivative",
    "unit_types",
    "windowed_connectivity",
    "write_report",
    "write_spiking",
]
