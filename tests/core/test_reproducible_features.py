"""The matcher's feature rows do not depend on the process: two trainings on the same knowledge must
learn the same model, and Python's string hashing (set and dict order of words) changes per process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURE_KB

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import hashlib, sys
from pathlib import Path
import numpy as np
from bot.core.matcher import Matcher
from bot.kb.loader import load_knowledge

view = Matcher(load_knowledge(Path(sys.argv[1])))._view
visible = np.ones(len(view.corpus.docs), bool)
digest = hashlib.sha256()
for doc in view.corpus.docs:
    for q in doc.questions:
        for text in (q, q + "要带什么材料", "请问" + q[::-1]):
            analysis = view.scorers.analyse(text, view.normalizer(text), visible)
            digest.update(np.asarray(analysis.candidates).tobytes())
            digest.update(analysis.rows.tobytes())
print(digest.hexdigest())
"""


def _rows_digest(seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(FIXTURE_KB)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_feature_rows_are_the_same_whatever_the_string_hashing() -> None:
    digests = {_rows_digest(seed) for seed in ("1", "2", "3")}
    assert len(digests) == 1
