"""Training of the content network (`python -m nps_core.train --help`).

Modules: `masks` (hole generators), `data` (image folder -> cached photos -> deterministic
batches), `discriminator`, `metrics` (hole L1/L2/PSNR), `trainer` (loop, validation,
checkpoints, export), `cli` (command line).
"""
