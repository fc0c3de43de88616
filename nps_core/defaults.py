"""Default settings of the pipeline, in one place so nodes, CLI and docs agree.

Loss weights are for the normalised terms of `nps_core.losses` and `nps_core.texture`: the content
term is a mean squared pixel error over the hole (pixels in 0..1), the texture term a mean squared
feature distance divided by the source features' mean energy, and TV a mean squared neighbour
difference. bench/QUALITY.md shows how ALPHA and BETA were calibrated; bench/README.md measures the
speed settings.
"""

ALPHA = 0.02          # weight of the texture term. Calibrated (bench/calibrate.py, bench/QUALITY.md) on the content net's held-out val photos, efficientnet_lite0: at 512 px vs content-only +1.44 dB hole PSNR, sharpness ratio 0.67 -> 0.99
BETA = 0.02           # weight of the total-variation term. Same sweep: BETA 1 gave +1.76 dB but sharpness 0.88 (smoother); 0.02 keeps the detail
ITERATIONS = 100      # L-BFGS iterations per pyramid level (the paper's count)
REFRESH_EVERY = 10    # nearest-neighbour matches are recomputed every this many evaluations
PATCH_SIZE = 3        # neural patch side, in feature cells
MAX_SOURCES = 16384   # source patches per layer kept for matching (strided subsample above this)
CHUNK_ELEMENTS = 1 << 24  # similarity-matrix elements computed at once during matching
# A level stops early when its best objective improved by less than this (relative) over the last
# 2 x REFRESH_EVERY evaluations (nps_core.optimize.converged). Measured (bench/speed.py, 512 case): the
# objective still falls ~1% per 20 evaluations at iteration 100 on every level, and stopping at a 2%
# threshold costs up to 2% final texture loss, so 2e-3 only ends levels that have really gone flat.
TOLERANCE_CHANGE = 2e-3
BACKBONE = "efficientnet_lite0"  # ships with real ImageNet weights; the paper's "vgg19" needs a file
THRESHOLD = 0.5       # soft masks: values >= threshold are hole
FEATHER = 0           # seam feathering radius in pixels (0 = known pixels bit-exact)
MIN_WINDOW = 128      # smallest context window side, pixels
WINDOW_SCALE = 2.0    # window side = WINDOW_SCALE x the hole's longer bounding-box side
COARSEST = 128        # coarsest pyramid level = content network resolution
MULTIPLE = 8          # window and level sides are multiples of this (feature strides align)
