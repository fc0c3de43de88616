"""Working-memory estimates and the smaller-chunk retry setting, for hosts that manage memory.

ComfyUI frees room on the GPU before a node runs (`comfy.model_management.free_memory`) when it is
told how much the run needs; these functions give that figure and the settings of the one retry
after an out-of-memory error. Plain arithmetic: nothing here allocates.
"""

from __future__ import annotations

import dataclasses

from . import defaults


def working_bytes(side: int, batch: int = 1, chunk_elements: int = defaults.CHUNK_ELEMENTS) -> int:
    """Rough peak working memory (bytes) of filling `batch` square windows of `side` px.

    Linear in the window's pixels (defaults.WORKING_BYTES_PER_PIXEL, measured) plus the matching
    chunk: `chunk_elements` fp32 similarities, their argmax pass and the products' operands (x 3).
    Model weights are not included (the host knows their size).
    """
    return int(max(1, batch) * int(side) ** 2 * defaults.WORKING_BYTES_PER_PIXEL + 3 * 4 * int(chunk_elements))


def smaller_chunks(texture):
    """A copy of TextureSettings `texture` that matches in chunks OOM_RETRY_CHUNK_DIVISOR x smaller.

    Same extractor object (nothing is reloaded); never below MIN_CHUNK_ELEMENTS. The matches are
    the same up to floating-point summation order, only the peak memory of matching drops.
    """
    chunk = max(defaults.MIN_CHUNK_ELEMENTS, int(texture.chunk_elements) // defaults.OOM_RETRY_CHUNK_DIVISOR)
    return dataclasses.replace(texture, chunk_elements=min(chunk, int(texture.chunk_elements)))
