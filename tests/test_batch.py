"""Folder jobs (`python -m nps_core batch`): planning, masks, resume, bad files, no-hole copies, the
report, atomic writes, Ctrl-C, and the Ray engine against the local one (skipped without Ray)."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import striped_image
from PIL import Image

from nps_core.batch.plan import Job, glob_root, plan_batch
from nps_core.batch.progress import BatchProgress
from nps_core.batch.report import FileResult
from nps_core.batch.worker import remove_partials
from nps_core.content import random_content_net, save_content_net
from nps_core.errors import NPSInputError

HOLE = (slice(20, 40), slice(24, 44))
FAST = ["--alpha", "0", "--plain", "--iterations", "1", "--device", "cpu", "--quiet"]


def rgb_array(seed: int, size: int = 64) -> np.ndarray:
    return (striped_image(size, seed=seed)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def save_rgba(path: Path, seed: int, hole: bool = True) -> None:
    """A 64 px photo whose transparent square (if hole) is its own mask."""
    alpha = np.full((64, 64, 1), 255, np.uint8)
    if hole:
        alpha[HOLE] = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([rgb_array(seed), alpha], -1), "RGBA").save(path)


def save_mask(path: Path, hole: bool = True) -> None:
    m = np.zeros((64, 64), np.uint8)
    if hole:
        m[HOLE] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(m, "L").save(path)


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "net.safetensors"
    save_content_net(random_content_net(seed=0), path)
    return str(path)


def make_folder(root: Path) -> Path:
    """in/a.png, in/sub/b.png (transparent holes), in/c.png (opaque: no hole), in/bad.png (corrupt),
    in/notes.txt (not an image), in/.hidden.png (a dot file)."""
    src = root / "in"
    save_rgba(src / "a.png", 0)
    save_rgba(src / "sub" / "b.png", 1)
    save_rgba(src / "c.png", 2, hole=False)
    (src / "bad.png").write_bytes(b"this is not a png")
    (src / "notes.txt").write_text("not an image")
    save_rgba(src / ".hidden.png", 3)
    return src


def run(args, net, capsys=None):
    from nps_core.cli import main

    code = main(["batch", *map(str, args), "--content-weights", net, *FAST])
    return code


# ----------------------------------------------------------------------------- planning


def test_plan_lists_recursively_pairs_transparency_and_ignores_non_images(tmp_path):
    src = make_folder(tmp_path)
    plan = plan_batch(str(src), str(tmp_path / "out"))
    assert [j.rel for j in plan.todo] == ["a.png", "bad.png", "c.png", "sub/b.png"]
    assert all(j.mask is None and j.problem is None for j in plan.todo)
    assert plan.todo[3].out == str(tmp_path / "out" / "sub" / "b.png")
    assert plan.ignored == [str(src / "notes.txt")] and not plan.finished


def test_plan_glob_is_relative_to_its_fixed_folder(tmp_path):
    src = make_folder(tmp_path)
    assert glob_root(str(src / "**" / "*.png")) == src
    plan = plan_batch(str(src / "**" / "b.png"), str(tmp_path / "out"))
    assert [j.rel for j in plan.todo] == ["sub/b.png"]
    # a flat glob may write next to its inputs' folder: it will never list the results
    flat = plan_batch(str(src / "*.png"), str(src / "filled"))
    assert [j.rel for j in flat.todo] == ["a.png", "bad.png", "c.png"]


def test_plan_pairs_masks_by_relative_path_with_any_extension(tmp_path):
    src = make_folder(tmp_path)
    masks = tmp_path / "masks"
    save_mask(masks / "a.jpg")                  # another extension than the image
    save_mask(masks / "sub" / "b.png"), save_mask(masks / "sub" / "b.jpg")  # the same name wins
    save_mask(masks / "c.jpg"), save_mask(masks / "c.bmp")   # two other candidates: ambiguous
    plan = plan_batch(str(src), str(tmp_path / "out"), masks=str(masks))
    jobs = {j.rel: j for j in plan.todo}
    assert jobs["a.png"].mask == str(masks / "a.jpg") and jobs["a.png"].problem is None
    assert jobs["sub/b.png"].mask == str(masks / "sub" / "b.png")
    assert jobs["bad.png"].mask is None and "no mask for bad.png" in jobs["bad.png"].problem
    assert "several masks" in jobs["c.png"].problem and "c.bmp" in jobs["c.png"].problem


def test_plan_pairs_rough_fills_from_a_folder(tmp_path):
    src = make_folder(tmp_path)
    fills = tmp_path / "fills"
    save_rgba(fills / "a.webp", 5, hole=False)
    plan = plan_batch(str(src), str(tmp_path / "out"), contents=str(fills))
    jobs = {j.rel: j for j in plan.todo}
    assert jobs["a.png"].content == str(fills / "a.webp") and jobs["a.png"].problem is None
    assert "no rough fill for c.png under --content-image" in jobs["c.png"].problem
    with pytest.raises(NPSInputError, match="is a file; in a batch it is the folder"):
        plan_batch(str(src), str(tmp_path / "out"), contents=str(fills / "a.webp"))


def test_plan_one_mask_for_all(tmp_path):
    src = make_folder(tmp_path)
    save_mask(tmp_path / "m.png")
    plan = plan_batch(str(src), str(tmp_path / "out"), mask=str(tmp_path / "m.png"))
    assert {j.mask for j in plan.todo} == {str(tmp_path / "m.png")}


@pytest.mark.parametrize("case", ["out-is-images", "out-inside-images", "images-inside-out", "empty",
                                  "missing", "both-masks", "mask-missing", "out-is-file"])
def test_plan_refuses_before_any_compute(tmp_path, case):
    src = make_folder(tmp_path)
    out, kwargs = tmp_path / "out", {}
    if case == "out-is-images":
        out = src
    elif case == "out-inside-images":
        out = src / "results"
    elif case == "images-inside-out":
        out = tmp_path
    elif case == "empty":
        src = tmp_path / "empty"
        src.mkdir()
    elif case == "missing":
        src = tmp_path / "nowhere"
    elif case == "both-masks":
        kwargs = dict(masks=str(tmp_path), mask=str(src / "a.png"))
    elif case == "mask-missing":
        kwargs = dict(mask=str(tmp_path / "nomask.png"))
    elif case == "out-is-file":
        out = src / "a.png"
    with pytest.raises(NPSInputError) as err:
        plan_batch(str(src), str(out), **kwargs)
    assert str(err.value)  # every refusal says why


def test_plan_marks_existing_results_finished(tmp_path):
    src = make_folder(tmp_path)
    out = tmp_path / "out"
    save_rgba(out / "sub" / "b.png", 9)
    plan = plan_batch(str(src), str(out))
    assert [j.rel for j in plan.finished] == ["sub/b.png"]
    assert "sub/b.png" not in [j.rel for j in plan.todo]


# ----------------------------------------------------------------------------- running


def test_batch_runs_reports_copies_and_skips_bad_files(tmp_path, net, capsys):
    src = make_folder(tmp_path)
    out = tmp_path / "out"
    assert run([src, out], net) == 1  # one file failed: the run went on, the exit code says so
    err = capsys.readouterr().err
    assert "done 2, skipped 0 (finished before), failed 1, copied 1 (no hole)" in err
    for rel, seed in (("a.png", 0), ("sub/b.png", 1)):
        result = np.asarray(Image.open(out / rel))
        known = np.ones((64, 64), bool)
        known[HOLE] = False
        assert result.shape == (64, 64, 4) and (result[..., 3] == 255).all()  # the input's kind, hole opaque
        result = result[..., :3]
        assert np.array_equal(result[known], rgb_array(seed)[known])       # known pixels bit-exact
        assert not np.array_equal(result[~known], rgb_array(seed)[~known])  # filled, not the hidden pixels
    assert (out / "c.png").read_bytes() == (src / "c.png").read_bytes()  # no hole: copied unchanged
    assert not (out / "bad.png").exists() and not (out / "notes.txt").exists() and not (out / ".hidden.png").exists()
    report = json.loads((out / "nps_batch_report.json").read_text())
    assert report["counts"] == {"done": 2, "copied": 1, "skipped": 0, "failed": 1, "interrupted": 0}
    files = {f["rel"]: f for f in report["files"]}
    assert "cannot read IMAGE" in files["bad.png"]["error"] and files["c.png"]["status"] == "copied"
    assert report["options"]["iterations"] == 1 and report["engine"] == "local"
    assert report["ignored_non_images"] == [str(src / "notes.txt")]
    assert not [p for p in out.rglob(".*")]  # no temp files left

    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    assert run([src, out], net) == 1  # the bad file fails again; the rest is skipped
    err = capsys.readouterr().err
    assert "3 to do" not in err and "skipping 3 finished earlier" in err
    assert "done 0, skipped 3" in err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == before  # nothing rewritten
    report = json.loads((out / "nps_batch_report.json").read_text())
    assert report["counts"]["skipped"] == 3 and report["counts"]["failed"] == 1


def test_batch_with_a_mask_folder_a_missing_mask_and_png_results(tmp_path, net, capsys):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(rgb_array(0)).save(src / "a.png")
    Image.fromarray(rgb_array(1)).save(src / "b.jpg", quality=95)
    Image.fromarray(rgb_array(2)).save(src / "c.jpg", quality=95)
    masks = tmp_path / "masks"
    save_mask(masks / "a.png")
    save_mask(masks / "c.png", hole=False)  # an empty mask: nothing to fill
    out = tmp_path / "out"
    assert run([src, out, "--masks", masks, "--as-png"], net) == 1
    report = json.loads((out / "nps_batch_report.json").read_text())
    files = {f["rel"]: f for f in report["files"]}
    assert files["a.png"]["status"] == "done" and files["a.png"]["mask"] == str(masks / "a.png")
    assert files["b.jpg"]["status"] == "failed" and "no mask for b.jpg" in files["b.jpg"]["error"]
    assert files["c.jpg"]["status"] == "copied" and files["c.jpg"]["out"] == str(out / "c.png")
    result = np.asarray(Image.open(out / "a.png"))
    known = np.ones((64, 64), bool)
    known[HOLE] = False
    assert np.array_equal(result[known], rgb_array(0)[known])
    # the no-hole JPEG is re-encoded losslessly: the same pixels as the decoded input
    assert np.array_equal(np.asarray(Image.open(out / "c.png")), np.asarray(Image.open(src / "c.jpg")))
    assert not (out / "b.png").exists()


def test_batch_uses_each_files_rough_fill(tmp_path, net):
    src = tmp_path / "in"
    save_rgba(src / "a.png", 0)
    fills = tmp_path / "fills"
    fills.mkdir()
    Image.fromarray(np.full((32, 32, 3), (250, 10, 10), np.uint8)).save(fills / "a.png")  # any resolution
    assert run([src, tmp_path / "out", "--content-image", fills], net) == 0
    hole = np.asarray(Image.open(tmp_path / "out" / "a.png"))[HOLE][..., :3].astype(float)
    assert hole[..., 0].mean() > 200 and hole[..., 1].mean() < 60  # the red rough fill is the content


def test_batch_loads_the_models_once_per_process(tmp_path, net, monkeypatch):
    from nps_core import backbones
    from nps_core import content as content_net
    from nps_core.cli import main

    src = tmp_path / "in"
    for i in range(3):
        save_rgba(src / f"{i}.png", i)
    calls = {"backbone": 0, "content": 0}
    real_backbone, real_content = backbones.load_backbone, content_net.load_content_net

    def count_backbone(*a, **k):
        calls["backbone"] += 1
        return real_backbone(*a, **k)

    def count_content(*a, **k):
        calls["content"] += 1
        return real_content(*a, **k)

    monkeypatch.setattr(backbones, "load_backbone", count_backbone)
    monkeypatch.setattr(content_net, "load_content_net", count_content)
    code = main(["batch", str(src), str(tmp_path / "out"), "--content-weights", net, "--backbone", "vgg19_random",
                 "--alpha", "0.02", "--plain", "--iterations", "1", "--device", "cpu", "--quiet"])
    assert code == 0 and len(list((tmp_path / "out").glob("*.png"))) == 3
    assert calls == {"backbone": 1, "content": 1}


def test_ctrl_c_leaves_no_half_file_and_a_rerun_finishes(tmp_path, net, monkeypatch, capsys):
    from nps_core.batch import worker

    src = tmp_path / "in"
    for i in range(3):
        save_rgba(src / f"{i}.png", i)
    out = tmp_path / "out"
    real_save = worker.save_result
    saves = []

    def interrupt_second_save(plan, image, loaded, hole):
        saves.append(plan.path)
        if len(saves) == 2:  # Ctrl-C while the file is being written

            def half(fh):
                fh.write(b"half a PNG")
                raise KeyboardInterrupt

            worker.image_io.write_file_atomic(plan.path, half)
        real_save(plan, image, loaded, hole)

    monkeypatch.setattr(worker, "save_result", interrupt_second_save)
    assert run([src, out], net) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err
    assert sorted(p.name for p in out.iterdir()) == ["0.png", "nps_batch_report.json"]  # no half file, no temp
    report = json.loads((out / "nps_batch_report.json").read_text())
    assert report["interrupted"] and report["counts"]["done"] == 1 and report["counts"]["interrupted"] == 2

    monkeypatch.setattr(worker, "save_result", real_save)
    assert run([src, out], net) == 0
    assert "skipping 1 finished earlier" in capsys.readouterr().err
    assert sorted(p.name for p in out.glob("*.png")) == ["0.png", "1.png", "2.png"]


def test_remove_partials_removes_what_a_killed_writer_left_and_nothing_else(tmp_path, monkeypatch):
    from nps_core import image_io

    target = tmp_path / "x.png"
    # a process killed between writing and renaming: neither the rename nor the clean-up happens
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    monkeypatch.setattr(os, "unlink", lambda *a: None)
    with pytest.raises(KeyboardInterrupt):
        image_io.write_file_atomic(target, lambda fh: fh.write(b"half"))
    monkeypatch.undo()
    (tmp_path / "y.png").write_bytes(b"a result")
    (tmp_path / ".y.png.abc.part").write_bytes(b"another file's temp")
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".x.png")]
    assert len(left) == 1 and not target.exists()
    assert remove_partials(target) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".y.png.abc.part", "y.png"]


def test_plan_result_formats(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(rgb_array(0)).save(src / "a.jpg", quality=95)
    with pytest.raises(NPSInputError, match="--as-png"):      # JPEG results are lossy: only when asked
        plan_batch(str(src), str(tmp_path / "out"))
    assert plan_batch(str(src), str(tmp_path / "out"), jpeg_quality=95).todo[0].out.endswith("a.jpg")
    png = plan_batch(str(src), str(tmp_path / "out"), as_png=True).todo[0]
    assert png.out == str(tmp_path / "out" / "a.png") and png.rel == "a.jpg"
    Image.fromarray(rgb_array(1)).save(src / "a.png")
    with pytest.raises(NPSInputError, match="would both write"):
        plan_batch(str(src), str(tmp_path / "out"), as_png=True)
    (src / "a.png").unlink()
    Image.fromarray(rgb_array(1)).save(src / "g.gif")
    with pytest.raises(NPSInputError, match=r"\.gif files cannot be written"):
        plan_batch(str(src), str(tmp_path / "out"), jpeg_quality=95)


def test_report_never_lands_on_an_input(tmp_path, net, capsys):
    src = make_folder(tmp_path)
    before = (src / "a.png").read_bytes()
    assert run([src, tmp_path / "out", "--report", src / "a.png"], net) == 2
    assert "--report" in capsys.readouterr().err and (src / "a.png").read_bytes() == before
    assert not (tmp_path / "out").exists()


def test_ray_options_need_the_ray_engine(tmp_path, net, capsys):
    src = make_folder(tmp_path)
    assert run([src, tmp_path / "out", "--ray-workers", "2"], net) == 2
    assert "--ray-workers only apply with --engine ray" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_ray_absent_is_a_clear_error(monkeypatch):
    import sys

    from nps_core.batch.ray_engine import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(NPSInputError, match=r"pip install -e \"\.\[ray\]\""):
        import_ray()


def test_ray_worker_planning():
    from nps_core.batch.ray_engine import plan_workers

    assert plan_workers({"CPU": 8.0, "GPU": 4.0}, None, None, 1.0, jobs=100) == (4, 1.0)
    assert plan_workers({"CPU": 8.0, "GPU": 4.0}, None, 0.5, 1.0, jobs=100) == (8, 0.5)
    assert plan_workers({"CPU": 8.0}, None, None, 2.0, jobs=100) == (4, 0.0)
    assert plan_workers({"CPU": 8.0}, None, None, 1.0, jobs=3) == (3, 0.0)   # never more actors than files
    assert plan_workers({"CPU": 2.0}, 5, None, 1.0, jobs=10) == (5, 0.0)
    with pytest.raises(NPSInputError, match="no GPUs"):
        plan_workers({"CPU": 8.0}, None, 1.0, 1.0, jobs=3)


def test_progress_bar_shows_files_level_and_eta():
    import io

    from nps_core.progress import ProgressEvent

    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    bar = BatchProgress(4, stream=stream, min_interval=0.0)
    bar.start_file("a.png")
    bar.level(ProgressEvent(level=1, levels=3, iteration=5, iterations=10))
    assert "0/4 files" in bar.line() and "ETA ?" in bar.line() and "a.png level 2/3  50%" in bar.line()
    bar.finish_file(FileResult(rel="a.png", image="a", out="b", status="done", seconds=1.0))
    assert "1/4 files" in bar.line() and "ETA ?" not in bar.line()
    log = io.StringIO()  # not a terminal: one line per file
    plain = BatchProgress(2, stream=log)
    plain.finish_file(FileResult(rel="x.png", image="x", out="y", status="failed", error="broken"))
    assert log.getvalue().startswith("1/2 failed x.png") and "broken" in log.getvalue()


def test_job_rows_round_trip():
    job = Job(image="i.png", mask=None, out="o.png", rel="i.png", problem=None)
    assert Job.from_row(job.to_row()) == job
    result = FileResult(rel="r", image="i", out="o", status="failed", seconds=1.5, error="e", mask=None)
    assert FileResult.from_row(result.to_row()) == result


# ----------------------------------------------------------------------------- Ray engine


def test_ray_engine_matches_the_local_engine_and_resumes(tmp_path, net, capsys):
    pytest.importorskip("ray.data")
    src = tmp_path / "in"
    save_rgba(src / "a.png", 0)
    save_rgba(src / "sub" / "b.png", 1)
    save_rgba(src / "c.png", 2, hole=False)
    texture = ["--backbone", "vgg19_random", "--alpha", "0.02"]
    from nps_core.cli import main

    common = ["--content-weights", net, "--plain", "--iterations", "2", "--device", "cpu", "--quiet", *texture]
    assert main(["batch", str(src), str(tmp_path / "local"), *common]) == 0
    assert main(["batch", str(src), str(tmp_path / "ray"), *common, "--engine", "ray", "--ray-workers", "1"]) == 0
    for rel in ("a.png", "sub/b.png"):
        a = np.asarray(Image.open(tmp_path / "local" / rel)).astype(int)
        b = np.asarray(Image.open(tmp_path / "ray" / rel)).astype(int)
        assert a.shape == b.shape and np.abs(a - b).max() <= 2
    assert (tmp_path / "ray" / "c.png").read_bytes() == (src / "c.png").read_bytes()
    report = json.loads((tmp_path / "ray" / "nps_batch_report.json").read_text())
    assert report["engine"] == "ray" and report["engine_info"]["workers"] == 1
    assert report["counts"] == {"done": 2, "copied": 1, "skipped": 0, "failed": 0, "interrupted": 0}
    capsys.readouterr()
    # resume works across engines: the local engine finds everything finished
    assert main(["batch", str(src), str(tmp_path / "ray"), *common]) == 0
    assert "skipping 3 finished earlier" in capsys.readouterr().err


def test_ray_engine_reports_a_cluster_failure_and_cleans_partials(tmp_path, monkeypatch):
    """Without a real cluster: a stand-in `ray` whose run fails the way an actor that cannot load the
    models does; every file left is reported failed with the reason, partial files are removed and a
    cluster started for the run is shut down."""
    import sys
    import types

    from nps_core.batch.ray_engine import run_ray
    from nps_core.batch.report import BatchReport

    calls = {}

    class Dataset:
        def map_batches(self, fn, **kwargs):
            calls["map_batches"] = kwargs
            return self

        def iter_rows(self):
            raise RuntimeError("ray.exceptions.RayTaskError: Traceback ...\nNPSWeightsError: no weights on node 2")

    fake = types.ModuleType("ray")
    fake.__version__ = "0-test"
    fake.is_initialized = lambda: False
    fake.init = lambda **kwargs: calls.setdefault("init", kwargs)
    fake.shutdown = lambda: calls.setdefault("shutdown", True)
    fake.cluster_resources = lambda: {"CPU": 4.0}
    fake.data = types.ModuleType("ray.data")
    fake.data.DataContext = types.SimpleNamespace(get_current=lambda: types.SimpleNamespace())
    fake.data.ActorPoolStrategy = lambda size: ("pool", size)
    fake.data.from_items = lambda rows, override_num_blocks: Dataset()
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setitem(sys.modules, "ray.data", fake.data)

    src = tmp_path / "in"
    save_rgba(src / "a.png", 0)
    save_rgba(src / "b.png", 1)
    plan = plan_batch(str(src), str(tmp_path / "out"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".a.png.x1.part").write_bytes(b"left by a killed actor")
    report = BatchReport(engine="ray", images=str(src), out=str(tmp_path / "out"))
    progress = BatchProgress(2, enabled=False)
    assert run_ray(plan, types.SimpleNamespace(), lambda o, d: {}, report, progress) is False
    assert [r.status for r in report.results] == ["failed", "failed"]
    assert all(r.error == "the Ray run stopped: NPSWeightsError: no weights on node 2" for r in report.results)
    assert not list((tmp_path / "out").iterdir()) and calls["shutdown"]
    kwargs = calls["map_batches"]
    assert kwargs["compute"] == ("pool", 2) and kwargs["num_gpus"] == 0.0 and kwargs["batch_size"] == 1
    assert kwargs["fn_constructor_kwargs"]["device"] == "cpu" and kwargs["fn_constructor_kwargs"]["threads"] == 1
