"""Probes measured during training, at every evaluation, chosen by `train.probes=a,b`.

Each probe module registers its probes (groklab.probes.registry) when the package is imported, which fills PROBES.
The Fourier progress measures run on saved checkpoints instead (`groklab probe fourier RUN_DIR`).
"""

from __future__ import annotations

from groklab.probes.registry import PROBES, Probe


def probe_names(spec: str) -> list[str]:
    return [n.strip() for n in spec.split(",") if n.strip()]


__all__ = ["PROBES", "Probe", "probe_names"]
