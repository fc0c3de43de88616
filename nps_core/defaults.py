"""Default settings of the pipeline, in one place so nodes, CLI and docs agree.

Loss weights are for the normalised terms of `nps_core.losses` and `nps_core.texture`: the content
term is a mean squared pixel error over the hole (pixels in 0..1), the texture term a mean squared
feature distance divided by the source features' mean energy, and TV a mean squared neighbour
difference. bench/README.md ("Why the defaults") gives the measurements behind the values;
bench/QUALITY.md how ALPHA and BETA were calibrated.
"""

ALPHA = 0.02          # weight of the texture term (calibrated: bench/README.md "Why the defaults")
BETA = 0.02           # weight of the total-variation term (same sweep; larger values smooth the fill)
ITERATIONS = 50       # L-BFGS iterations per level (the paper: 100; 100 is still reachable)
REFRESH_EVERY = 10    # nearest-neighbour matches are recomputed every this many evaluations
PATCH_SIZE = 3        # neural patch side, in feature cells
MAX_SOURCES = 16384   # source patches per layer kept for matching (strided subsample above this)
CHUNK_ELEMENTS = 1 << 24  # similarity-matrix elements computed at once during matching
PRECISION = "auto"    # texture features / matching dtype: "auto", "fp32", "bf16", "fp16" (nps_core.texture)
EXHAUSTIVE_EVERY = 3  # every this many match refreshes the search covers all source patches
# The L-BFGS match searches compare neural patches by their projection on this many principal
# directions of the level's source bank (nps_core.patches.projection_basis; 0 = full patches, exact):
# efficientnet_lite0's patches have 1296 / 2160 values, the search gets ~10x cheaper (bench/README.md).
MATCH_DIMS = 128
ADAPTIVE_REFRESH = True  # a layer whose matches barely change is refreshed less often
CROP_FEATURES = True  # recompute features only on the hole plus margin (exact)
# A level stops early when its best objective improved by less than this (relative) over the last
# 2 x REFRESH_EVERY evaluations (nps_core.optimize.converged); 2e-3 only ends levels that have gone flat.
TOLERANCE_CHANGE = 2e-3
# Synthesis step of each level (nps_core.synthesis): coherent neural-patch matches voted into pixels,
# the result's low band replaced by the coarser level's, then the L-BFGS above starts from it.
# SYNTHESIS_STEPS = 0 gives the paper's plain per-level optimisation. Chosen on the content net's
# held-out photos (bench/calibrate.py --synthesis, bench/QUALITY.md).
SYNTHESIS_STEPS = 2        # EM steps (match -> refine -> vote) per level after the coarsest
# EM steps at the coarsest level (its matches start from scratch, so its random search needs more steps to settle on
# a coherent copy): 4 -> 8 took 8 px diagonal test stripes from 2.6-17.9 to 16.6-17.9 dB over plain across seeds;
# held-out photos (bench/QUALITY.md) centre / rect / strokes 19.75 / 21.77 / 30.92 -> 19.75 / 21.84 / 30.91 dB.
SYNTHESIS_FIRST_STEPS = 8
COHERENCE_ROUNDS = 4       # PatchMatch propagation/random-search rounds per EM step
COHERENCE_BONUS = 0.05     # score bonus for an offset shared by all 4 neighbours (similarity is 0..1-ish)
COLOUR_WEIGHT = 1.0        # weight of cell colours next to the unit-norm neural patch in the match descriptor
LOW_BAND_SIGMA = 2.0       # px at each level: the fill's Gaussian low band comes from the coarser level
CONTENT_SIGMA = 0.0        # px: the L-BFGS content term compares only this Gaussian low band with its target (0 = all)
PIXEL_SEARCH = 0           # px: votes copy from the best single-pixel shift within +-this of the matched cell (off)
VOTE_FALLOFF = 0.0         # cells: votes weighted by a Gaussian of the distance from the patch centre (0 = equal)
REMATCH = False            # finer levels: also match exhaustively, keep the better of that and the carried match
# Pixel patches (nps_core.pixel_synthesis): after the neural-patch EM of each level but the coarsest,
# the copies are refined to single-pixel (2r+1)^2 colour patches and re-voted.
PIXEL_PATCH_STEPS = 2      # EM steps (PatchMatch rounds -> vote); 0 = off
PIXEL_PATCH_RADIUS = 3     # r: 7x7 patches
PIXEL_PATCH_ROUNDS = 2     # PatchMatch rounds per EM step
# Each pixel-patch vote counts exp(-this x distance / mean distance) (thin holes: 1). Held-out sweep
# (bench/QUALITY.md), one content view: 1 / 3 / 4 / 8 -> centre sharpness 0.57 / 0.61 / 0.63 / 0.76 at
# 19.84 / 19.80 / 19.76 / 19.48 dB; thin strokes lost 1.3 dB at 3, so they keep 1. With the 8 averaged
# content views (CONTENT_VIEWS) the start is smoother: 4 / 5 -> centre 0.57 / 0.61, rect 0.60 / 0.64.
PIXEL_VOTE_SHARPNESS = 5.0
PIXEL_PATCH_DIMS = 24      # patches compared by their first principal components (0 = all 3(2r+1)^2 values)
# The pixel vote's sharpness when refining a user's rough fill (inpaint(content=...)): its band is
# held, and the softer vote (each copy's detail averaged with its neighbours') scored 34.32 dB /
# sharpness 0.94 vs 33.27 / 1.00 at 4 on the held-out photos' 4x down-scaled truth (exact hold;
# up-scaled: 33.12 / 0.47; bench/QUALITY.md).
REFINE_VOTE_SHARPNESS = 1.0
# Refining: each finer level is back-projected onto the rough fill, comparing their Gaussian-blurred
# (this sigma, in fill pixels) difference, so the fill's top octave (its pixel-level colour noise)
# is not stamped on as blotches. Held-out, 4x down-scaled truth, 33.12 dB up-scaled: sigma 0 / 0.75 /
# 1.0 -> 34.32 / 33.71 / 32.70 dB; 0 and 0.5 showed colour blotches on a synthesised fill.
REFINE_HOLD_SIGMA = 0.75
# Each finer level starts from the up-sampled coarser result plus the membrane interpolation of its
# mismatch with this level's known pixels (nps_core.border_match): no seam, thin holes interpolated here.
MATCH_BORDER = True
# Gaussian noise (std, 0..1 pixel scale) added to the hole before each level's first match only (the
# votes copy known pixels): blurred queries otherwise prefer blurred sources, and the fill stays soft.
QUERY_NOISE = 0.3
# A hole whose pixels all lie within this many px of a known pixel (at a level) is thin, e.g. a brush
# stroke: there the match gets no noise, and pixel patches alone rebuild it (no neural cell vote).
THIN_HOLE_DEPTH = 16
# The synthesis (not the content network, not the L-BFGS) copies from the context window grown to this many
# times its side, clipped to the image (nps_core.source_region; 1 = the window only, as the paper). Held-out small
# holes in 1024 px photos (bench/source_scale.py --held-out): 1 / 2 / 3 -> 26.25 / 25.87 / 26.13 dB (bench/README.md).
SOURCE_SCALE = 1.0
SYNTHESIS_LAYER = 0        # texture layer that matches and votes (0 = the finest, stride 4 for efficientnet_lite0)
BACKBONE = "efficientnet_lite0"  # ships with real ImageNet weights; the paper's "vgg19" needs a file
THRESHOLD = 0.5       # soft masks: values >= threshold are hole
FEATHER = 0           # seam feathering radius in pixels (0 = known pixels bit-exact)
MIN_WINDOW = 128      # smallest context window side, pixels
WINDOW_SCALE = 2.0    # window side = WINDOW_SCALE x the hole's longer bounding-box side
COARSEST = 128        # coarsest pyramid level = content network resolution
# The content network sees the coarsest level in this many of its flipped / transposed views
# (nps_core.content.predict_content) and the predictions, turned back, are averaged; 1 = once (the paper).
# Held-out, content alone, 1 -> 8 views: centre 19.89 -> 20.03 dB, rect 21.86 -> 22.17, strokes 29.74 -> 30.30.
CONTENT_VIEWS = 8
CONTENT_VIEW_COUNTS = (1, 2, 4, 8)
MULTIPLE = 8          # window and level sides are multiples of this (feature strides align)
# Memory a host asks for before a run (nps_core.memory). Slope of the product's peak RSS between the
# 512 px (1.31 GiB) and 2048 px (6.67 GiB) windows of bench/speed.py (README, Speed): ~1460 bytes per
# window pixel, rounded up. CPU figures, fp32; bench/gpu_check.sh prints the CUDA peak next to this estimate.
WORKING_BYTES_PER_PIXEL = 1536
# The command line (python -m nps_core) sets OMP_WAIT_POLICY to this before torch loads, unless the
# user set it ("" = leave it). With the default (spinning) policy, the 512 px demo on 2 threads took
# 310 s wall / 308 CPU-s while other jobs loaded the 2 cores, 37 s / 36 CPU-s with PASSIVE (README, Speed).
CLI_OMP_WAIT_POLICY = "PASSIVE"
OOM_RETRY_CHUNK_DIVISOR = 16   # after an out-of-memory error, the one retry matches with chunk_elements / this
MIN_CHUNK_ELEMENTS = 1 << 16   # ... but never fewer similarity elements at once than this
MODEL_CACHE_SIZE = 4           # feature extractors kept by nps_core.backbones.load_backbone (least recent dropped)
CONTENT_NET_CACHE_SIZE = 4  # content networks kept loaded by nps_core.content.load_content_net (least recent dropped)
# Limits of the settings (nps_core.options checks them before any work; the nodes' widgets use the same).
MAX_WEIGHT = 1e6           # alpha, beta
MAX_ITERATIONS = 10000     # L-BFGS iterations per level (the paper: 100); bounds the run time
MAX_FEATHER = 64           # px
MAX_SYNTHESIS_STEPS = 64   # synthesis EM steps per level
MAX_WINDOW_SCALE = 8.0
MAX_WINDOW = 8192          # px; a larger context window means a hole over ~4096 px: down-scale the image first
MAX_CONTENT_SIGMA = 64.0   # px
# Image files: decoding budget (pixels). Checked from the header before decoding (a guard against
# decompression bombs and running out of memory); Pillow's own error limit is the same 2 x 89478485.
MAX_IMAGE_PIXELS = 178_956_970
# Python API images may overshoot 0..1 by this much (resampling ringing); they are used as given.
# Further out (0..255 floats, -1..1 normalised) is an error naming the range found.
IMAGE_RANGE_TOLERANCE = 0.1
# Folder jobs (nps_core.batch): the JSON report's name under OUT, and each Ray CPU actor's share
# (its torch threads): one per actor lets a machine's cores run that many files side by side.
BATCH_REPORT_NAME = "nps_batch_report.json"
BATCH_RAY_CPUS_PER_WORKER = 1.0
