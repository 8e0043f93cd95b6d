"""A fake encoder for unit tests: hashed bag of words, deterministic, no model needed."""

from __future__ import annotations

import hashlib
import re

import numpy as np


class HashingEncoder:
    def __init__(self, name: str = "fake-hashing", dim: int = 64):
        self.name = name
        self.dim = dim
        self.calls = 0
        self.encoded = 0

    def encode(self, texts, progress=None):
        self.calls += 1
        self.encoded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)
