"""`groklab sweep`: a grid of runs, each member an ordinary run folder.

    groklab sweep power2022 optim.weight_decay=0.1,0.3,1 seed=range(0,4) train.steps=2000 --out runs

`spec` parses and checks the grid, `record` keeps `sweep-<hash8>/sweep.json`, `local` trains the members in this
process (vectorised where it can), `slurm` submits them as a job array through submitit. Finished members are
skipped and interrupted ones resume from their checkpoints (with --resume, as `groklab run` asks).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Sweep", "parse_spec", "plan", "run_sweep"]


def __getattr__(name: str) -> Any:
    """Lazy: `groklab <command>` imports every command's module, and the analysis commands must not pay for torch."""
    if name == "run_sweep":
        from groklab.sweep.run import run_sweep

        return run_sweep
    if name in ("Sweep", "parse_spec", "plan"):
        from groklab.sweep import spec

        return getattr(spec, name)
    raise AttributeError(f"module 'groklab.sweep' has no attribute {name!r}")
