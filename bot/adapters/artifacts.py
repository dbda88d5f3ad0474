"""Trained models and vectors kept in a folder (under DATA_DIR/cache), behind the ArtifactStore port."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


class DirectoryArtifacts:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def load(self, name: str) -> bytes | None:
        try:
            return (self.folder / name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:  # unreadable: treated as absent, rebuilt
            log.warning("cannot read %s: %s", name, exc)
            return None

    def save(self, name: str, data: bytes) -> None:
        """Atomically (write then rename), so a crash never leaves half a file; failures only cost time."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self.folder / name)
        except OSError as exc:
            log.warning("cannot write %s: %s", name, exc)

    def prune(self, prefix: str, keep: int) -> None:
        """Keep the `keep` newest artifacts whose names start with `prefix`."""
        found = sorted(self.folder.glob(f"{prefix}*"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in found[keep:]:
            old.unlink(missing_ok=True)
