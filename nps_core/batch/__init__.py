"""Folder jobs: `python -m nps_core batch IMAGES OUT`, on this machine or on a Ray cluster.

One job per module:
- `plan.py`: list the images, pair them with masks, decide output paths and what a rerun skips;
- `worker.py`: `FileWorker` loads the models once and inpaints one file, written atomically;
- `progress.py`: the progress bar over files (and the current file's level) with an ETA;
- `report.py`: the per-file results, the summary line and the JSON report (written atomically);
- `local.py` / `ray_engine.py`: the two engines (a loop in this process, or Ray Data actors);
- `command.py`: the `batch` subcommand's options and driver.
Nothing here imports Ray unless `--engine ray` is asked for.
"""
