"""nps_core.lbfgs: the same iterates as torch.optim.LBFGS (no line search), early stop, blocks."""

import subprocess
import sys

import pytest
import torch

from nps_core.lbfgs import minimise


def _quadratic(n=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=g, dtype=torch.float64)
    return a @ a.t() / n + 0.1 * torch.eye(n, dtype=torch.float64), torch.randn(n, generator=g, dtype=torch.float64)


def _rosenbrock(v):
    return (100 * (v[1:] - v[:-1] ** 2) ** 2 + (1 - v[:-1]) ** 2).sum()


_Q = _quadratic()


def _softplus(v):
    return torch.nn.functional.softplus(v - torch.linspace(-1, 1, v.numel(), dtype=v.dtype)).pow(2).sum()


PROBLEMS = {
    "quadratic": lambda v: 0.5 * v @ _Q[0] @ v - _Q[1] @ v,
    "rosenbrock": _rosenbrock,
    "softplus": _softplus,
}


def _iterates(objective, start, evaluations, ours, history=5):
    v = start.clone().requires_grad_(True)
    seen = []

    def closure():
        if not ours:
            optimizer.zero_grad()
        loss = objective(v)
        loss.backward()
        seen.append(v.detach().clone())
        return loss

    if ours:
        minimise(closure, v, evaluations, lr=1.0, history_size=history, tolerance_change=1e-12)
    else:
        optimizer = torch.optim.LBFGS([v], lr=1.0, max_iter=evaluations, max_eval=evaluations, tolerance_grad=0.0,
                                      tolerance_change=1e-12, history_size=history, line_search_fn=None)
        optimizer.step(closure)
    return seen, v.detach()


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_iterates_match_torch_lbfgs(name):
    start = torch.linspace(-1.2, 1.0, 30, dtype=torch.float64) * 0.5
    ours, ours_end = _iterates(PROBLEMS[name], start, 40, ours=True)
    ref, ref_end = _iterates(PROBLEMS[name], start, 40, ours=False)
    assert len(ours) == len(ref) > 5  # one closure call per iteration, the same count
    for a, b in zip(ours, ref, strict=True):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-9)
    assert torch.allclose(ours_end, ref_end, rtol=1e-9, atol=1e-9)
    assert torch.equal(ours_end, ours[-1])  # ends at the last evaluated point


def test_float32_iterates_match_torch_lbfgs_closely():
    start = torch.linspace(-1.2, 1.0, 64) * 0.5
    ours, _ = _iterates(PROBLEMS["softplus"], start, 30, ours=True, history=20)
    ref, _ = _iterates(PROBLEMS["softplus"], start, 30, ours=False, history=20)
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)


def test_exception_from_closure_ends_the_run_at_the_evaluated_point():
    v = torch.zeros(30, dtype=torch.float64, requires_grad=True)
    calls = []

    class Stop(Exception):
        pass

    def closure():
        loss = PROBLEMS["quadratic"](v)
        loss.backward()
        calls.append(v.detach().clone())
        if len(calls) == 4:
            raise Stop
        return loss

    with pytest.raises(Stop):
        minimise(closure, v, 50)
    assert len(calls) == 4 and torch.equal(v.detach(), calls[-1])


def test_pipeline_run_never_imports_torch_dynamo():
    code = (
        "import sys, torch\n"
        "from nps_core.pipeline import inpaint\n"
        "from nps_core.texture import make_texture_settings\n"
        "from nps_core.content import random_content_net\n"
        "img = torch.rand(1, 3, 128, 128); mask = torch.zeros(1, 1, 128, 128); mask[..., 50:70, 50:70] = 1\n"
        "tex = make_texture_settings('vgg19_random')\n"
        "inpaint(img, mask, content_net=random_content_net(), texture=tex, iterations=3)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def _torch_minimise(closure, variables, evaluations, lr=1.0, history_size=20, tolerance_change=1e-12):
    """The old optimiser: torch.optim.LBFGS with the settings optimize_scale used before."""
    optimizer = torch.optim.LBFGS([variables], lr=lr, max_iter=evaluations, max_eval=evaluations, tolerance_grad=0.0,
                                  tolerance_change=tolerance_change, history_size=history_size, line_search_fn=None)

    def wrapped():
        optimizer.zero_grad(set_to_none=True)
        return closure()

    optimizer.step(wrapped)


def test_pipeline_result_equals_the_torch_lbfgs_one(random_texture, content_net, monkeypatch):
    from conftest import square_mask, striped_image

    import nps_core.optimize as optimize
    from nps_core.pipeline import inpaint

    img = striped_image(192)
    mask = square_mask(192, 70, 60, 40)
    ours = inpaint(img, mask, content_net=content_net, texture=random_texture, iterations=12)
    monkeypatch.setattr(optimize, "minimise", _torch_minimise)
    ref = inpaint(img, mask, content_net=content_net, texture=random_texture, iterations=12)
    assert [r.iterations for r in ours.levels] == [r.iterations for r in ref.levels]
    assert (ours.image - ref.image).abs().max() < 1e-5
    for a, b in zip(ours.levels, ref.levels, strict=True):
        assert a.losses["total"] == pytest.approx(b.losses["total"], rel=1e-4)


def test_command_line_sets_a_passive_openmp_wait_policy_unless_the_user_chose_one():
    from nps_core import defaults
    from nps_core.__main__ import quiet_openmp

    env = {}
    quiet_openmp(env)
    assert env["OMP_WAIT_POLICY"] == defaults.CLI_OMP_WAIT_POLICY == "PASSIVE"
    mine = {"OMP_WAIT_POLICY": "ACTIVE"}
    quiet_openmp(mine)
    assert mine == {"OMP_WAIT_POLICY": "ACTIVE"}
