"""Hole metrics for the quality benchmark (numpy only, plus torch for SSIM's Gaussian filter).

All functions take images as float arrays [H,W,3] (or [H,W]) with values in 0..1 and a hole mask
[H,W] (true / 1 = hole, the pixels that were filled). Every metric is computed **inside the hole
only**: known pixels are copied from the truth by every method and would only dilute differences.

- `l1_percent`:  mean |fill - truth| over hole pixels and channels, x100 (the paper's "mean L1 loss", %).
- `l2_percent`:  mean (fill - truth)^2 over hole pixels and channels, x100 (the paper's "mean L2 loss", %).
- `psnr`:        10 log10(1 / MSE) over the hole, dB; capped at `PSNR_CAP` (identical images).
- `ssim`:        the SSIM map (Wang et al. 2004: Gaussian window sigma 1.5, K1 .01, K2 .03, data range 1,
                 per channel) of the whole image, averaged over hole pixels and channels.
- `sharpness_ratio`: mean gradient magnitude of the fill divided by that of the truth over the same
                 pixels (grey level, central differences): the hole shrunk by `SEAM` px (falls back to
                 the whole hole when that leaves nothing), so a colour step at the hole border (a seam,
                 already counted by L1/L2/PSNR) does not pass for detail. 1.0 = as much detail as
                 the truth, < 1 = blurrier, > 1 = noisier/over-sharpened.
"""

from __future__ import annotations

import math

import numpy as np

PSNR_CAP = 100.0
SEAM = 2          # px of the hole border left out of the sharpness ratio


def _prep(fill, truth, mask):
    fill = np.asarray(fill, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    mask = np.asarray(mask)
    if fill.shape != truth.shape:
        raise ValueError(f"fill {fill.shape} and truth {truth.shape} differ in shape")
    if mask.shape != fill.shape[:2]:
        raise ValueError(f"mask {mask.shape} must be [H,W] of the images {fill.shape[:2]}")
    hole = mask > 0.5
    if not hole.any():
        raise ValueError("the mask has no hole pixels")
    return fill, truth, hole


def _hole_values(a, hole):
    return a[hole] if a.ndim == 2 else a[hole, :]


def l1_percent(fill, truth, mask) -> float:
    fill, truth, hole = _prep(fill, truth, mask)
    return float(np.mean(np.abs(_hole_values(fill - truth, hole))) * 100.0)


def mse(fill, truth, mask) -> float:
    fill, truth, hole = _prep(fill, truth, mask)
    return float(np.mean(_hole_values(fill - truth, hole) ** 2))


def l2_percent(fill, truth, mask) -> float:
    return mse(fill, truth, mask) * 100.0


def psnr(fill, truth, mask, cap: float = PSNR_CAP) -> float:
    err = mse(fill, truth, mask)
    if err <= 0.0:
        return float(cap)
    return float(min(cap, 10.0 * math.log10(1.0 / err)))


def _gaussian_kernel(sigma=1.5, radius=5):
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-(x ** 2) / (2 * sigma ** 2))
    return k / k.sum()


def _filter(img, kernel):
    """Separable filter of [C,H,W] float64 with reflect padding (torch conv for speed)."""
    import torch
    import torch.nn.functional as F

    r = len(kernel) // 2
    t = torch.from_numpy(np.ascontiguousarray(img))[:, None]          # [C,1,H,W]
    k = torch.from_numpy(kernel)
    t = F.pad(t, (r, r, r, r), mode="reflect")
    t = F.conv2d(t, k.view(1, 1, 1, -1))
    t = F.conv2d(t, k.view(1, 1, -1, 1))
    return t[:, 0].numpy()


def ssim_map(a, b, sigma=1.5, k1=0.01, k2=0.03, data_range=1.0):
    """SSIM map [H,W,C] (or [H,W]) of two images in 0..1."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    squeeze = a.ndim == 2
    if squeeze:
        a, b = a[..., None], b[..., None]
    a, b = a.transpose(2, 0, 1), b.transpose(2, 0, 1)
    kernel = _gaussian_kernel(sigma, radius=int(3.5 * sigma + 0.5))
    mu_a, mu_b = _filter(a, kernel), _filter(b, kernel)
    var_a = _filter(a * a, kernel) - mu_a ** 2
    var_b = _filter(b * b, kernel) - mu_b ** 2
    cov = _filter(a * b, kernel) - mu_a * mu_b
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    s = s.transpose(1, 2, 0)
    return s[..., 0] if squeeze else s


def ssim(fill, truth, mask) -> float:
    fill, truth, hole = _prep(fill, truth, mask)
    return float(np.mean(_hole_values(ssim_map(fill, truth), hole)))


def _grey(a):
    return a if a.ndim == 2 else a @ np.array([0.299, 0.587, 0.114])


def gradient_magnitude(img) -> np.ndarray:
    """[H,W] central-difference gradient magnitude of the grey level (edges replicated)."""
    g = _grey(np.asarray(img, dtype=np.float64))
    p = np.pad(g, 1, mode="edge")
    gx = (p[1:-1, 2:] - p[1:-1, :-2]) / 2.0
    gy = (p[2:, 1:-1] - p[:-2, 1:-1]) / 2.0
    return np.sqrt(gx ** 2 + gy ** 2)


def erode(mask, steps: int) -> np.ndarray:
    """Binary erosion of a bool [H,W] mask by `steps` pixels (4-neighbourhood; outside = not hole)."""
    m = np.asarray(mask, dtype=bool)
    for _ in range(steps):
        p = np.pad(m, 1, constant_values=False)
        m = m & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return m


def sharpness_ratio(fill, truth, mask, eps: float = 1e-8, seam: int = SEAM) -> float:
    fill, truth, hole = _prep(fill, truth, mask)
    inner = erode(hole, seam)
    if inner.any():
        hole = inner
    num = gradient_magnitude(fill)[hole].mean()
    den = gradient_magnitude(truth)[hole].mean()
    if den < eps:
        return 1.0 if num < eps else float("inf")
    return float(num / den)


METRICS = {
    "l1": l1_percent,
    "l2": l2_percent,
    "psnr": psnr,
    "ssim": ssim,
    "sharp": sharpness_ratio,
}


def all_metrics(fill, truth, mask) -> dict:
    """{'l1': %, 'l2': %, 'psnr': dB, 'ssim': 0..1, 'sharp': ratio} inside the hole."""
    return {name: fn(fill, truth, mask) for name, fn in METRICS.items()}
