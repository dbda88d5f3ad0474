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
        for old in self._newest_first(prefix)[keep:]:
            old.unlink(missing_ok=True)

    def newest(self, prefix: str) -> str | None:
        found = self._newest_first(prefix)
        return found[0].name if found else None

    def _newest_first(self, prefix: str) -> list[Path]:
        def written(path: Path) -> float:
            try:
                return path.stat().st_mtime
            except OSError:  # removed meanwhile (another replica pruning): oldest
                return 0.0

        return sorted(self.folder.glob(f"{prefix}*"), key=written, reverse=True)
