"""Faithful, plain reference of one level of Multi-Scale Neural Patch Synthesis (the speed baseline).

This is the paper's per-scale loop done the obvious way, written independently of
`nps_core.texture` / `nps_core.patches` / `nps_core.optimize` (the product's hot path):

* the unknowns are the hole pixels, optimised by L-BFGS (own implementation below, the same
  algorithm torch.optim.LBFGS runs without line search: history 20, step 1, first step scaled by
  1/|g|_1, one objective evaluation per iteration);
* every evaluation computes the backbone features of the WHOLE window (no cropping);
* every evaluation extracts ALL 3x3 neural patches of both layers (query = centre in the hole,
  source = patch entirely outside it; no subsampling of the sources) and recomputes the nearest
  source of every query by normalised cross-correlation (no match caching);
* fp32 throughout; the similarity matrix is computed in one piece unless that would exceed
  `SIMILARITY_BUDGET_BYTES` (only then it is split into query chunks: "no chunking beyond what
  memory forces").

Objective (same definition and normalisation as the product, so loss values compare):
    E = content + alpha * texture + beta * TV
    content = mean over hole values of (x - c)^2                  (nps_core.losses.content_loss)
    TV      = mean squared neighbour difference over pairs touching the hole (nps_core.losses.tv_loss)
    texture = mean over images that have a texture term of
              sum_l w_l * mean_{queries, patch elements} (q - nn(q))^2 / mean(source features^2)
and L-BFGS minimises E * (number of hole values), like the product.

The nearest-neighbour targets are constants (detached), as in the paper's MRF term. Sources and the
energy normaliser are taken from the current features at every evaluation (plain: nothing is cached).
`texture_loss()` is the exhaustive loss used to compare final images of both sides.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from nps_core.losses import content_loss, tv_loss

SIMILARITY_BUDGET_BYTES = 4 << 30  # full query-by-source matrix allowed up to this size


def _hole_cells(mask_b: torch.Tensor, hw) -> torch.Tensor:
    """mask [1,1,H,W] -> bool [h,w]: a feature cell is hole if any pixel of its footprint is."""
    return F.adaptive_max_pool2d((mask_b > 0.5).float(), tuple(hw))[0, 0] > 0.5


def _all_patches(feat_b: torch.Tensor, k: int) -> torch.Tensor:
    """feat [C,h,w] -> every k x k patch whose window fits, as rows [(h-k+1)*(w-k+1), C*k*k]."""
    return F.unfold(feat_b[None], kernel_size=k)[0].t()


def _split(hole: torch.Tensor, k: int):
    """Indices (into _all_patches rows) of query patches (centre in hole) and source patches (no hole)."""
    r = k // 2
    touched = F.max_pool2d(hole[None, None].float(), k, stride=1)[0, 0] > 0.5  # window has a hole cell
    centre = hole[r : hole.shape[0] - r, r : hole.shape[1] - r]
    return torch.nonzero(centre.flatten()).flatten(), torch.nonzero(~touched.flatten()).flatten()


def nearest(queries: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
    """argmax cosine similarity, whole matrix at once unless it exceeds the memory budget."""
    qn = queries / queries.norm(dim=1, keepdim=True).clamp_min(1e-8)
    sn = sources / sources.norm(dim=1, keepdim=True).clamp_min(1e-8)
    step = max(1, min(qn.shape[0], SIMILARITY_BUDGET_BYTES // (4 * max(1, sn.shape[0]))))
    return torch.cat([(qn[i : i + step] @ sn.t()).argmax(dim=1) for i in range(0, qn.shape[0], step)])


def texture_loss(extractor, layer_weights, x: torch.Tensor, mask: torch.Tensor, patch_size: int = 3):
    """Exhaustive texture term of x [B,3,h,w] (whole-window features, all patches, fresh matches)."""
    feats = extractor(x)
    total = x.new_zeros(())
    counted = 0
    for b in range(x.shape[0]):
        used = False
        for w, feat in zip(layer_weights, feats, strict=True):
            if w == 0:
                continue
            hole = _hole_cells(mask[b : b + 1], feat.shape[-2:])
            qi, si = _split(hole, patch_size)
            if qi.numel() == 0 or si.numel() == 0:
                continue
            patches = _all_patches(feat[b], patch_size)
            q = patches[qi]
            src = patches[si].detach()
            target = src[nearest(q.detach(), src)]
            energy = src.pow(2).mean().clamp_min(1e-12)
            total = total + w * (q - target).pow(2).mean() / energy
            used = True
        counted += int(used)
    return total / max(1, counted)


def objective_terms(extractor, layer_weights, x, target, mask, alpha, beta, patch_size=3):
    terms = {"content": content_loss(x, target, mask), "tv": tv_loss(x, mask)}
    total = terms["content"] + beta * terms["tv"]
    if alpha > 0:
        terms["texture"] = texture_loss(extractor, layer_weights, x, mask, patch_size)
        total = total + alpha * terms["texture"]
    return terms, total


def optimize_level(
    image, mask, init, extractor, layer_weights, alpha, beta, iterations,
    history_size: int = 20, patch_size: int = 3, callback=None,
):
    """Reference per-level optimisation. Returns (result [B,3,h,w] clamped, info dict).

    info: seconds, evaluations, start_losses, losses (unweighted terms + weighted total of the
    last evaluation, like nps_core's ScaleReport).
    """
    started = time.perf_counter()
    with torch.inference_mode(False), torch.enable_grad():
        hole = (mask > 0.5).float()
        hole3 = (hole > 0.5).expand_as(image)
        base = torch.where(hole3, init, image).detach()
        target = base.clone()
        v = base[hole3].clone()
        scale = float(v.numel())
        info = {"evaluations": 0, "start_losses": {}, "losses": {}}

        def evaluate(vec):
            var = vec.detach().clone().requires_grad_(True)
            x = base.masked_scatter(hole3, var)
            terms, total = objective_terms(extractor, layer_weights, x, target, hole, alpha, beta, patch_size)
            (total * scale).backward()
            values = {k: float(t.detach()) for k, t in terms.items()}
            values["total"] = float(total.detach())
            info["evaluations"] += 1
            if not info["start_losses"]:
                info["start_losses"] = dict(values)
            info["losses"] = values
            if callback is not None:
                callback(info["evaluations"], values)
            return var.grad.detach()

        # L-BFGS, no line search (the standard two-loop recursion).
        g = evaluate(v) if iterations > 0 else None
        dirs, steps, rhos = [], [], []
        h_diag = 1.0
        d = prev_g = None
        t = 1.0
        for it in range(1, iterations + 1):
            if it == 1:
                d = -g
            else:
                y = g - prev_g
                s = d * t
                ys = float(y.dot(s))
                if ys > 1e-10:
                    if len(dirs) == history_size:
                        dirs.pop(0), steps.pop(0), rhos.pop(0)
                    dirs.append(y), steps.append(s), rhos.append(1.0 / ys)
                    h_diag = ys / float(y.dot(y))
                q = -g
                alphas = []
                for yi, si, ri in zip(reversed(dirs), reversed(steps), reversed(rhos), strict=True):
                    a = ri * float(si.dot(q))
                    alphas.append(a)
                    q = q - a * yi
                r = q * h_diag
                for (yi, si, ri), a in zip(zip(dirs, steps, rhos, strict=True), reversed(alphas), strict=True):
                    bcoef = ri * float(yi.dot(r))
                    r = r + (a - bcoef) * si
                d = r
            prev_g = g
            t = min(1.0, 1.0 / float(g.abs().sum())) if it == 1 else 1.0
            if float(g.dot(d)) > -1e-9:
                break
            v = v + t * d
            if it == iterations:
                break
            g = evaluate(v)
        result = base.masked_scatter(hole3, v.detach()).clamp(0, 1)
    info["seconds"] = time.perf_counter() - started
    return result, info
