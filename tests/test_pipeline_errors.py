"""Resource errors of the pipeline become actionable messages."""

import pytest
from conftest import square_mask, striped_image

import nps_core.pipeline as pipeline
from nps_core import defaults
from nps_core.errors import NPSInputError, NPSOutOfMemoryError


def test_out_of_memory_names_the_level_and_the_fix(monkeypatch, random_texture, content_net):
    def boom(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(pipeline, "optimize_scale", boom)
    with pytest.raises(NPSOutOfMemoryError, match=r"level 1/1 \(128x128"):
        pipeline.inpaint(striped_image(128), square_mask(128), content_net=content_net, texture=random_texture)


def test_other_runtime_errors_pass_through(monkeypatch, random_texture, content_net):
    def broken(*args, **kwargs):
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(pipeline, "optimize_scale", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        pipeline.inpaint(striped_image(128), square_mask(128), content_net=content_net, texture=random_texture)


def test_a_hole_too_large_for_any_window_is_refused_before_work(monkeypatch, random_texture, content_net):
    monkeypatch.setattr(defaults, "MAX_WINDOW", 256)
    with pytest.raises(NPSInputError, match="context window"):
        pipeline.inpaint(striped_image(512), square_mask(512, 100, 100, 200),
                         content_net=content_net, texture=random_texture)


@pytest.mark.parametrize("views", [3, 0, 2.5, True])
def test_bad_content_views_are_refused_naming_the_setting(content_net, views):
    from nps_core.errors import NPSOptionError

    image, mask = striped_image(64), square_mask(64, 16)
    with pytest.raises(NPSOptionError, match="content_views"):
        pipeline.inpaint(image, mask, content_net=content_net, iterations=0, alpha=0.0,
                         synthesis=pipeline.SynthesisSettings.plain(), content_views=views)
