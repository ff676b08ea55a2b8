"""Progress measures computed from tensors: weight norms, Fourier measures, IPR, RQI; and the live probes measured
during training (groklab.probes.live), which their modules register when this package is imported."""

# Each module registers its live probes when imported, in this order: the order PROBES lists them in (the package
# imports them, so the order holds whichever probe module a program imports first).
# isort: off
from groklab.probes import rqi, ipr, templates, norms, collapse  # noqa: F401
from groklab.probes import mheight, local_complexity, adversarial, linear_teacher  # noqa: F401
# isort: on
