"""GPU mirror of main/training/data/degrade.ts (the TypeScript version is CANONICAL; keep this in step).

Same artifact types, parameter ranges (blur sizes scale with max(H, W) / 256 with the engine's floors:
sigma >= 0.5 px, motion length >= 2 px, which matter for crops smaller than ~180 px), 1..3 artifacts with uniform severities in [0, 1], over/under
exposure mutually exclusive, applied in the canonical type order, clipped to [0, 1] at the end.
Blur kernels and mirrored borders follow filters.ts (edge sample repeated: ...cba|abc...). The random
stream differs from the TS Rng (distributional mirror, not bit-exact).
Images are [C, H, W] tensors in [0, 1] on any device.
"""

from __future__ import annotations

import math
import random

import torch
import torch.nn.functional as F

ARTIFACT_TYPES = (
    "gaussian_blur",
    "motion_blur",
    "overexposure",
    "underexposure",
    "low_contrast",
    "poisson_noise",
    "gaussian_noise",
)
_EXCLUSIVE = {"overexposure": "underexposure", "underexposure": "overexposure"}


def _lerp(a, b, t):
    return a + (b - a) * t


def _log_lerp(a, b, t):
    return math.exp(_lerp(math.log(a), math.log(b), t))


def artifact_at_severity(kind: str, severity: float, scale: float, rng: random.Random) -> dict:
    s = min(1.0, max(0.0, severity))
    if kind == "gaussian_noise":
        return {"type": kind, "severity": s, "sigma": _lerp(0.01, 0.08, s)}
    if kind == "poisson_noise":
        return {"type": kind, "severity": s, "photons": _log_lerp(3000, 50, s)}
    if kind == "gaussian_blur":
        return {"type": kind, "severity": s, "sigma": max(0.5, _lerp(0.7, 2.5, s) * scale)}
    if kind == "motion_blur":
        return {"type": kind, "severity": s, "length": max(2.0, _lerp(3, 13, s) * scale), "angle": rng.uniform(0, 180)}
    if kind == "overexposure":
        return {"type": kind, "severity": s, "gamma": _lerp(0.85, 0.45, s), "gain": _lerp(1.05, 1.5, s)}
    if kind == "underexposure":
        return {"type": kind, "severity": s, "gamma": _lerp(1.2, 2.6, s), "gain": _lerp(0.95, 0.6, s)}
    if kind == "low_contrast":
        return {"type": kind, "severity": s, "factor": _lerp(0.85, 0.35, s)}
    raise ValueError(f"unknown artifact type {kind}")


def sample_artifacts(rng: random.Random, width: int, height: int, min_artifacts=1, max_artifacts=3,
                     reference_size=256) -> list[dict]:
    """degrade.ts sampleArtifacts with the default options."""
    allowed = list(ARTIFACT_TYPES)
    hi = min(max_artifacts, len(allowed))
    scale = max(width, height) / reference_size
    count = rng.randint(min_artifacts, hi)
    chosen = []
    pool = list(allowed)
    while len(chosen) < count and pool:
        kind = pool.pop(int(rng.random() * len(pool)))
        chosen.append(kind)
        banned = _EXCLUSIVE.get(kind)
        if banned in pool:
            pool.remove(banned)
    chosen.sort(key=ARTIFACT_TYPES.index)
    return [artifact_at_severity(k, rng.uniform(0.0, 1.0), scale, rng) for k in chosen]


def _mirror_index(idx: torch.Tensor, n: int) -> torch.Tensor:
    """filters.ts mirrorIndex: mirror with the edge sample repeated."""
    if n == 1:
        return torch.zeros_like(idx)
    period = 2 * n
    m = torch.remainder(idx, period)
    return torch.where(m < n, m, period - 1 - m)


def _mirror_pad(x: torch.Tensor, pad_y: int, pad_x: int) -> torch.Tensor:
    """x [C, H, W] padded by pad_y rows and pad_x columns on each side, mirrored borders."""
    _, h, w = x.shape
    dev = x.device
    if pad_y > 0:
        rows = _mirror_index(torch.arange(-pad_y, h + pad_y, device=dev), h)
        x = x.index_select(1, rows)
    if pad_x > 0:
        cols = _mirror_index(torch.arange(-pad_x, w + pad_x, device=dev), w)
        x = x.index_select(2, cols)
    return x


def gaussian_kernel_1d(sigma: float) -> list[float]:
    radius = max(1, math.ceil(3 * sigma))
    k = [math.exp(-(i * i) / (2 * sigma * sigma)) for i in range(-radius, radius + 1)]
    total = sum(k)
    return [v / total for v in k]


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if not sigma > 0:
        return x.clone()
    k = torch.tensor(gaussian_kernel_1d(sigma), dtype=x.dtype, device=x.device)
    r = (k.numel() - 1) // 2
    c = x.shape[0]
    xp = _mirror_pad(x, r, r).unsqueeze(0)  # [1, C, H+2r, W+2r]
    kx = k.view(1, 1, 1, -1).expand(c, 1, 1, k.numel()).contiguous()
    ky = k.view(1, 1, -1, 1).expand(c, 1, k.numel(), 1).contiguous()
    y = F.conv2d(xp, kx, groups=c)
    y = F.conv2d(y, ky, groups=c)
    return y.squeeze(0)


def motion_kernel(length: float, angle_degrees: float) -> list[tuple[int, int, float]]:
    """filters.ts motionKernel: taps (dx, dy, weight) by dense sampling along the segment."""
    if not length > 0:
        return [(0, 0, 1.0)]
    theta = angle_degrees * math.pi / 180
    cx = math.cos(theta)
    cy = -math.sin(theta)  # image rows grow downwards
    samples = max(1, math.ceil(length * 16))
    taps: dict[tuple[int, int], float] = {}
    for s in range(samples):
        t = ((s + 0.5) / samples - 0.5) * length
        dx = math.floor(t * cx + 0.5)  # JS Math.round (half up), not Python's banker's rounding
        dy = math.floor(t * cy + 0.5)
        taps[(dx, dy)] = taps.get((dx, dy), 0.0) + 1 / samples
    return [(dx, dy, w) for (dx, dy), w in taps.items()]


def motion_blur(x: torch.Tensor, length: float, angle: float) -> torch.Tensor:
    """out(x, y) = sum w * in(x + dx, y + dy): a correlation, which is what conv2d computes."""
    taps = motion_kernel(length, angle)
    r = max(max(abs(dx), abs(dy)) for dx, dy, _ in taps)
    if r == 0:
        return x * sum(w for _, _, w in taps)
    size = 2 * r + 1
    kernel = torch.zeros(size, size, dtype=x.dtype)
    for dx, dy, w in taps:
        kernel[dy + r, dx + r] += w
    c = x.shape[0]
    kernel = kernel.to(x.device).view(1, 1, size, size).expand(c, 1, size, size).contiguous()
    xp = _mirror_pad(x, r, r).unsqueeze(0)
    return F.conv2d(xp, kernel, groups=c).squeeze(0)


def apply_artifact(x: torch.Tensor, a: dict, generator: torch.Generator | None = None) -> torch.Tensor:
    kind = a["type"]
    if kind == "gaussian_noise":
        noise = torch.randn(x.shape, dtype=x.dtype, device=x.device, generator=generator)
        return x + noise * a["sigma"]
    if kind == "poisson_noise":
        n = a["photons"]
        return torch.poisson(torch.clamp(x, min=0) * n, generator=generator) / n
    if kind == "gaussian_blur":
        return gaussian_blur(x, a["sigma"])
    if kind == "motion_blur":
        return motion_blur(x, a["length"], a["angle"])
    if kind in ("overexposure", "underexposure"):
        return torch.clamp(a["gain"] * torch.clamp(x, min=0) ** a["gamma"], 0.0, 1.0)
    if kind == "low_contrast":
        m = x.mean()
        return m + a["factor"] * (x - m)
    raise ValueError(f"unknown artifact type {kind}")


def degrade(x: torch.Tensor, rng: random.Random, generator: torch.Generator | None = None):
    """degrade.ts degrade for one [C, H, W] image in [0, 1]: returns (image, artifacts)."""
    artifacts = sample_artifacts(rng, int(x.shape[2]), int(x.shape[1]))
    y = x
    for a in artifacts:
        y = apply_artifact(y, a, generator)
    return torch.clamp(y, 0.0, 1.0), artifacts


def degrade_batch(batch: torch.Tensor, rng: random.Random, generator: torch.Generator | None = None):
    """Each image of [N, C, H, W] gets its own artifacts."""
    out = []
    names = []
    for img in batch:
        y, arts = degrade(img, rng, generator)
        out.append(y)
        names.append("+".join(a["type"] for a in arts))
    return torch.stack(out, dim=0), names
