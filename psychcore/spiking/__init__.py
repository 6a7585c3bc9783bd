"""Rate networks converted to leaky integrate-and-fire spiking networks (Kim et al. 2019).

- :class:`RateNetwork`: a sigmoid rate network as the conversion needs it, read from spikeRNN's
  saved ``.mat`` (:meth:`RateNetwork.from_spikernn`) or from a psychcore spec and weights
  (:meth:`RateNetwork.from_weights`); :func:`rate_forward` simulates it as rates.
- :func:`spikernn_to_psychcore`: spikeRNN's saved network as a psychcore ``ModelSpec`` and
  weights dict (Simulator, every backend); :func:`spikernn_constraints`: its structure.
- :class:`LIFParams`, :func:`simulate_lif`, :class:`LIFResult`: the LIF network, vectorised
  over trials, with spikeRNN's parameters as defaults and a switch to reproduce it exactly.
- :func:`lambda_search`: task accuracy of the LIF network for each scaling factor lambda.

Equations and the sources of the defaults: docs/spiking.md. Pure NumPy (SciPy for reading
``.mat`` files: ``pip install psychcore[spiking]``).
"""

from ._lif import LIFParams, LIFResult, simulate_lif
from ._network import RateNetwork, rate_forward
from ._search import LambdaSearchResult, lambda_search
from ._spikernn_io import spikernn_constraints, spikernn_to_psychcore

__all__ = [
    "LIFParams",
    "LIFResult",
    "LambdaSearchResult",
    "RateNetwork",
    "lambda_search",
    "rate_forward",
    "simulate_lif",
    "spikernn_constraints",
    "spikernn_to_psychcore",
]
