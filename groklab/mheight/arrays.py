"""The array namespace the batched m-height code runs on: numpy on the CPU, or torch on a device (a GPU).

The kernels (minors.py, vertex.py) are written once against the functions both libraries spell alike
(``xp.abs``, ``xp.amax(x, axis=...)``, ``xp.fmin``, ``xp.where``, ...); the few that differ live here. numpy
is the default so that labelling on a CPU never imports torch (which takes seconds to import).
"""

from __future__ import annotations

import os

import numpy as np

from groklab.errors import GroklabError


class Arrays:
    """numpy (``device`` None) or torch on ``device`` ("cuda", "cuda:1", "cpu"), always float64."""

    def __init__(self, device: str | None = None) -> None:
        self.device = device
        self._tables: dict[int, tuple[np.ndarray, object]] = {}
        if device is None:
            self.xp = np
        else:
            import torch

            self.xp = torch

    def table(self, a: np.ndarray):
        """An index table (cached numpy array) on the device; copied there once per table."""
        if self.device is None:
            return a
        if id(a) not in self._tables:
            self._tables[id(a)] = (a, self.xp.as_tensor(a, device=self.device))  # keep a alive: ids stay unique
        return self._tables[id(a)][1]

    def index(self, a: np.ndarray):
        """A one-off index array on the device."""
        return a if self.device is None else self.xp.as_tensor(a, device=self.device)

    def array(self, a: np.ndarray):
        return a if self.device is None else self.xp.as_tensor(a, dtype=self.xp.float64, device=self.device)

    def numpy(self, x) -> np.ndarray:
        return x if self.device is None else x.cpu().numpy()

    def rows(self, x, idx, out=None):
        """x[idx] along axis 0, into ``out`` when given (np.take is several times faster than fancy indexing on
        (rows, batch) arrays; mode="clip" keeps it unbuffered with ``out``; the indices are always valid)."""
        if self.device is None:
            return np.take(x, idx, axis=0, out=out, mode="clip")
        return self.xp.index_select(x, 0, idx, out=out) if out is not None else self.xp.index_select(x, 0, idx)

    def empty(self, shape: tuple[int, ...]):
        return np.empty(shape) if self.device is None else self.xp.empty(shape, dtype=self.xp.float64,
                                                                           device=self.device)


class Buffers:
    """Work arrays reused from one block of codes to the next: allocating a fresh multi-megabyte temporary per
    block makes the C library map and unmap pages each time, which cost more system time than the arithmetic."""

    def __init__(self, arrays: Arrays) -> None:
        self.arrays = arrays
        self._held: dict[str, object] = {}

    def __call__(self, name: str, shape: tuple[int, ...]):
        held = self._held.get(name)
        if held is None or tuple(held.shape) != shape:
            held = self._held[name] = self.arrays.empty(shape)
        return held


CPU = Arrays()


def label_device(name: str) -> str | None:
    """Where to label: None (numpy on the CPU) for "cpu"; "auto" picks "cuda" when an NVIDIA driver is loaded
    and torch sees the GPU (torch is imported only then); other names are torch devices and must exist."""
    if name == "cpu":
        return None
    if name == "auto":
        if not os.path.exists("/proc/driver/nvidia/version"):
            return None
        import torch

        return "cuda" if torch.cuda.is_available() else None
    try:
        import torch

        torch.empty(1, device=name)
    except (ImportError, RuntimeError, ValueError) as exc:
        reason = str(exc).splitlines()[0]
        raise GroklabError(f"device {name!r} is not usable here ({reason}); use cpu or auto") from None
    return name
