"""A small least-recently-used cache for loaded models (content networks, feature extractors).

Loaders keep what they loaded so that the same call returns the same object; the cache holds at
most `maxsize` entries (defaults.MODEL_CACHE_SIZE), so switching between many model files does not
keep every one of them in memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from . import defaults


class BoundedCache:
    """Thread-safe LRU mapping: `get(key)` (None when absent) marks the entry used; `put` evicts the oldest."""

    def __init__(self, maxsize: int = defaults.MODEL_CACHE_SIZE):
        if int(maxsize) < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self.maxsize = int(maxsize)
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key) -> bool:
        return key in self._items
