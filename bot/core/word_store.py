"""jieba's general dictionary as one flat, read-only block instead of a dict of 500,000 strings.

jieba keeps every word and every prefix of a word (frequency 0) in a dict: some 60 MB of small objects
per process, which CPython's allocator does not hand back. Here the same entries are a few arrays in
one file (14 MB), mapped read-only, so replicas on one host share the pages and start-up creates no
object per word:

- the UTF-8 bytes of every entry, end to end, and where each ends in the file;
- the CRC-32 and the frequency of each entry;
- an open-addressing table (linear probing) from a CRC-32 to the entry's number.

A lookup hashes the word, walks the table from its home slot and confirms a candidate by comparing the
stored bytes, so membership is exact. Entries are numbered from 1 (0 marks an empty slot).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import math
import mmap
import os
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

# Bump when the layout changes or the way entries are derived does: it is part of the file name.
FORMAT = 1
_MAGIC = b"WORDSTR1"
_PREFIX = struct.Struct("<8sII")  # magic, header length, CRC-32 of header and body
_SECTIONS = (("ends", "I"), ("hashes", "I"), ("freqs", "I"), ("slots", "I"), ("blob", "B"))
# 0.55 of the slots filled: a miss walks ~3 slots; a fuller table is smaller but slower on the hot path.
_LOAD = 0.55
# Fragments already looked up, kept until there are this many (~0.5 MB): jieba asks for each fragment
# two to four times while cutting a sentence, and a dict hit costs a fifth of a table walk. Segmenting
# the knowledge base's questions, more did not help (60,000 distinct fragments, 200 lookups a question).
_MEMO_SIZE = 4096
_ABSENT = -1


class WordStore:
    """Read-only mapping word → frequency behaving like the dict jieba builds (`in`, `[]`, `get`)."""

    def __init__(self, image: bytes | mmap.mmap, *, source: str | None = None) -> None:
        view = memoryview(image)
        magic, header_len, checksum = _PREFIX.unpack_from(view)
        if magic != _MAGIC:
            raise ValueError("not a word store")
        start = _PREFIX.size
        if len(view) < start + header_len or zlib.crc32(view[start:]) != checksum:
            raise ValueError("word store damaged or truncated")
        header = json.loads(bytes(view[start : start + header_len]))
        if header["format"] != FORMAT or header["byteorder"] != sys.byteorder:
            raise ValueError("word store of another format")
        if source is not None and header["source"] != source:
            raise ValueError("word store of another dictionary")
        arrays = {}
        for name, code in _SECTIONS:
            offset, size = header["sections"][name]
            if offset + size > len(view):
                raise ValueError("word store truncated")
            arrays[name] = view[offset : offset + size].cast(code)
        self.total: int = header["total"]
        self.source: str = header["source"]
        self._size: int = header["entries"]
        self._mask: int = header["mask"]
        self._image = image  # entries' bytes are sliced from it; the arrays are views of it
        self._ends, self._hashes = arrays["ends"], arrays["hashes"]
        self._freqs, self._slots = arrays["freqs"], arrays["slots"]
        self._memo: dict[str, int] = {}

    # The memo is asked first in each method, not in `_find`: a call less on the path most lookups take.
    def __contains__(self, word: object) -> bool:
        freq = self._memo.get(word)  # type: ignore[call-overload]
        return (self._find(word) if freq is None else freq) >= 0  # type: ignore[arg-type]

    def __getitem__(self, word: str) -> int:
        freq = self._memo.get(word)
        if freq is None:
            freq = self._find(word)
        if freq < 0:
            raise KeyError(word)
        return freq

    def get(self, word: str, default: int | None = None) -> int | None:
        freq = self._memo.get(word)
        if freq is None:
            freq = self._find(word)
        return default if freq < 0 else freq

    def _find(self, word: str) -> int:
        """The word's frequency, or -1 when it is not in the store; remembered in the memo."""
        try:
            key = word.encode()
        except (AttributeError, UnicodeEncodeError):  # not a str, or a lone surrogate: never a word
            return _ABSENT
        h = zlib.crc32(key)
        slots, hashes, ends, image = self._slots, self._hashes, self._ends, self._image
        i = h & self._mask
        freq = _ABSENT
        # The table ends with an empty slot, so the walk needs no wrap-around.
        while entry := slots[i]:
            if hashes[entry] == h and image[ends[entry - 1] : ends[entry]] == key:
                freq = self._freqs[entry]
                break
            i += 1
        memo = self._memo
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[word] = freq
        return freq

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"<WordStore {self._size} entries, total {self.total}>"


def build_image(freq: Mapping[str, int], total: int, source: str) -> bytes:
    """The file form of a word → frequency mapping (all of it in memory, then written at once)."""
    import numpy as np  # only to build: mapping a prepared file needs none of it

    keys = [word.encode() for word in freq]
    n = len(keys)
    blob = b"".join(keys)
    bits = max(4, math.ceil(math.log2(max(n, 1) / _LOAD)))
    hashes = np.zeros(n + 1, dtype=np.uint32)
    hashes[1:] = np.fromiter(map(zlib.crc32, keys), dtype=np.uint32, count=n)
    arrays = {
        "ends": np.zeros(n + 1, dtype=np.uint32),
        "hashes": hashes,
        "freqs": np.zeros(n + 1, dtype=np.uint32),
        "slots": _linear_probing(hashes[1:] & np.uint32((1 << bits) - 1), 1 << bits),
        "blob": np.frombuffer(blob, dtype=np.uint8),
    }
    values = np.fromiter(freq.values(), dtype=np.int64, count=n)
    if n and (values.min() < 0 or values.max() >= 2**32):
        raise ValueError("frequencies out of range for a word store")
    arrays["freqs"][1:] = values
    header = {
        "format": FORMAT,
        "byteorder": sys.byteorder,
        "source": source,
        "entries": n,
        "total": int(total),
        "mask": (1 << bits) - 1,
        "sections": {name: [0, arrays[name].nbytes] for name, _ in _SECTIONS},
    }
    # Offsets depend on the header's length, which depends on them: reserve room, then fill in.
    header_len = len(json.dumps(header)) + 24 * len(_SECTIONS)
    offset = _PREFIX.size + header_len
    for name, _ in _SECTIONS:
        offset = -(-offset // 8) * 8
        header["sections"][name][0] = offset
        offset += arrays[name].nbytes
    if offset >= 2**32:
        raise ValueError("dictionary too large for a word store")
    # Where each entry's bytes end in the whole file, so a lookup slices the file without arithmetic.
    blob_start = header["sections"]["blob"][0]
    arrays["ends"][0] = blob_start
    arrays["ends"][1:] = np.cumsum(np.fromiter(map(len, keys), dtype=np.int64, count=n)) + blob_start
    del keys

    image = bytearray(offset)
    encoded = json.dumps(header).encode()
    assert len(encoded) <= header_len, "room reserved for the header"
    image[_PREFIX.size : _PREFIX.size + header_len] = encoded.ljust(header_len)
    for name, _ in _SECTIONS:
        start, size = header["sections"][name]
        image[start : start + size] = arrays[name].tobytes()
    _PREFIX.pack_into(image, 0, _MAGIC, header_len, zlib.crc32(memoryview(image)[_PREFIX.size :]))
    return bytes(image)


def _linear_probing(home, size: int):
    """Slot table of entries 1..n placed by linear probing from their home slots, without wrapping:
    in order of home slot, each goes to its home or just after the one before, whichever is later."""
    import numpy as np

    order = np.argsort(home, kind="stable")
    rank = np.arange(len(order), dtype=np.int64)
    place = rank + np.maximum.accumulate(home[order].astype(np.int64) - rank) if len(order) else rank
    slots = np.zeros(max(size, int(place[-1]) + 1 if len(place) else 0) + 1, dtype=np.uint32)
    slots[place] = order + 1
    return slots


def dictionary_digest(path: Path) -> str:
    """What the prepared file is keyed by: the dictionary's bytes and this module's format."""
    return f"{FORMAT}-{hashlib.sha1(path.read_bytes()).hexdigest()}"


def open_word_store(
    dictionary: Path,
    parse: Callable[[IO[bytes]], tuple[Mapping[str, int], int]],
    cache_dir: Path | None = None,
    *,
    build_apart: bool = True,
) -> WordStore:
    """The word store of `dictionary` as `parse` (jieba's `gen_pfdict`) reads it: mapped from
    `cache_dir` when prepared there before, else built (and kept there when there is one).

    With a cache directory it is built in a child process (`build_apart`): building makes the very
    dict of small objects this replaces, and a process that made it keeps most of its 60 MB after
    freeing it. Only when the child fails is it built here."""
    source = dictionary_digest(dictionary)
    if cache_dir is None:
        return WordStore(_build(dictionary, parse, source), source=source)
    path = cache_dir / f"jieba-words-{source[:24]}.bin"
    store = _mapped(path, source)
    if store is None and build_apart and _build_in_child(dictionary, parse, path):
        store = _mapped(path, source)
    if store is not None:
        return store
    image = _build(dictionary, parse, source)
    try:
        _write_atomically(path, image)
    except OSError as error:
        log.warning("cannot keep the word store in %s: %s", cache_dir, error)
    store = _mapped(path, source)
    return WordStore(image, source=source) if store is None else store


def _mapped(path: Path, source: str) -> WordStore | None:
    """The store prepared in `path`, or None when there is none or it is damaged or stale."""
    try:
        with path.open("rb") as file:
            image = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        return WordStore(image, source=source)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, struct.error) as error:
        log.warning("the word store %s is unusable: %s", path, error)
        return None


def _build(dictionary: Path, parse: Callable, source: str) -> bytes:
    with dictionary.open("rb") as file:  # jieba's parser closes it too; closing twice is harmless
        freq, total = parse(file)
    return build_image(freq, total, source)


def _write_atomically(path: Path, image: bytes) -> None:
    """Written beside its place and renamed over it: a process starting meanwhile reads the old file
    or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(image)
        os.chmod(temp, 0o644)  # mkstemp's 0600 would hide it from replicas running as another user
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _build_in_child(dictionary: Path, parse: Callable, path: Path) -> bool:
    """Run `python -m bot.core.word_store` to write the store to `path`; True when it did."""
    import subprocess  # ~0.5 MB more resident in every process that never needs it

    if not sys.executable:
        return False
    root = str(Path(__file__).resolve().parents[2])  # this very copy of the package, not another
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))}
    target = f"{parse.__module__}:{parse.__qualname__}"
    command = [sys.executable, "-m", __name__, str(dictionary), str(path), target]
    log.info("preparing the word store %s from %s", path, dictionary)
    try:
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as error:
        log.warning("cannot prepare the word store in a child process: %s", error)
        return False
    if done.returncode:
        log.warning(
            "preparing the word store in a child process failed: %s",
            done.stderr[-2000:].decode(errors="replace"),
        )
    return done.returncode == 0


def _main(dictionary: str, path: str, target: str) -> None:
    module, _, name = target.partition(":")
    parse = importlib.import_module(module)
    for part in name.split("."):
        parse = getattr(parse, part)
    source = Path(dictionary)
    _write_atomically(Path(path), _build(source, parse, dictionary_digest(source)))


if __name__ == "__main__":
    _main(*sys.argv[1:])
