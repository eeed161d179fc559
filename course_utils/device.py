"""Pick the device once for the whole course and move data onto it.

``get_device()`` prefers CUDA, then Apple's MPS, then the CPU. Set the
environment variable ``COURSE_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``)
to override, e.g. to force the CPU on a shared GPU machine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

ENV_VAR = "COURSE_DEVICE"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(prefer: str | None = None) -> torch.device:
    """The device notebooks run on: ``prefer``, else ``$COURSE_DEVICE``, else CUDA > MPS > CPU.

    An explicit request for a device this machine does not have raises a
    ``RuntimeError`` that says how to fix it, rather than silently using the CPU.
    """
    wanted = prefer or os.environ.get(ENV_VAR, "").strip() or None
    if wanted is not None:
        try:
            device = torch.device(wanted)
        except RuntimeError as exc:
            raise ValueError(
                f"{ENV_VAR}={wanted!r} is not a device torch knows; use cpu, cuda, cuda:N or mps"
            ) from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"{wanted!r} was requested but CUDA is not available on this machine; "
                f"unset {ENV_VAR} or set {ENV_VAR}=cpu"
            )
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(
                f"{wanted!r} was requested but MPS is not available on this machine; "
                f"unset {ENV_VAR} or set {ENV_VAR}=cpu"
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def to_device(obj, device=None, dtype: torch.dtype | None = None):
    """Move a tensor, or every tensor inside a dict/list/tuple, to ``device``.

    Floating-point tensors are cast to ``dtype`` when given; integer tensors
    (labels) keep their dtype. Non-tensors pass through unchanged.
    """
    device = torch.device(device) if device is not None else get_device()
    if isinstance(obj, torch.Tensor):
        if dtype is not None and obj.is_floating_point():
            return obj.to(device=device, dtype=dtype)
        return obj.to(device=device)
    if isinstance(obj, Mapping):
        return type(obj)({k: to_device(v, device, dtype) for k, v in obj.items()})
    if isinstance(obj, (list, tuple)):
        moved = [to_device(v, device, dtype) for v in obj]
        return type(obj)(moved) if not hasattr(obj, "_fields") else type(obj)(*moved)
    return obj


def describe_device(device=None) -> str:
    """One line for the setup cell: which device and why."""
    device = torch.device(device) if device is not None else get_device()
    if device.type == "cuda":
        return f"Using {device} ({torch.cuda.get_device_name(device)})"
    if os.environ.get(ENV_VAR):
        return f"Using {device} (from {ENV_VAR})"
    return f"Using {device} (no GPU found; everything in this course runs fine on the CPU)"
