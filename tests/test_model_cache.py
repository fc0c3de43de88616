"""The model caches are bounded: least recently used entries are dropped beyond MODEL_CACHE_SIZE."""

import pytest

from nps_core import defaults
from nps_core.model_cache import BoundedCache


def test_least_recently_used_entry_is_dropped():
    cache = BoundedCache(maxsize=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recently used
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3 and len(cache) == 2
    assert cache.get("missing") is None
    cache.clear()
    assert len(cache) == 0


def test_maxsize_must_be_positive():
    with pytest.raises(ValueError, match="maxsize"):
        BoundedCache(maxsize=0)


def test_feature_extractor_cache_is_bounded():
    from nps_core import backbones

    assert isinstance(backbones._CACHE, BoundedCache) and backbones._CACHE.maxsize == defaults.MODEL_CACHE_SIZE
