"""The compact general dictionary (bot.core.word_store) against the dict jieba itself builds: the same
entries and frequencies, the same segmentation word for word, and a prepared file that is rebuilt
when damaged, stale or of another dictionary."""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

import jieba
import pytest
import yaml

from bot.core import segment, word_store
from bot.core.segment import Segmenter, _Words
from bot.core.word_store import WordStore, open_word_store

ROOT = Path(__file__).resolve().parents[2]
DICTIONARY = Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME
parse = jieba.Tokenizer.gen_pfdict


def _strings_under(node: object, keys: set[str]) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys:
                yield from (v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
            else:
                yield from _strings_under(value, keys)
    elif isinstance(node, list):
        for value in node:
            yield from _strings_under(value, keys)


def _knowledge(keys: set[str]) -> list[str]:
    found: list[str] = []
    for path in sorted((ROOT / "knowledge").rglob("*.yaml")):
        found.extend(_strings_under(yaml.safe_load(path.read_text(encoding="utf-8")), keys))
    return list(dict.fromkeys(found))


Freq = tuple[dict[str, int], int]


@pytest.fixture(scope="module")
def jieba_freq() -> Freq:
    """The dict jieba's own `initialize()` would build, and its total."""
    return parse(DICTIONARY.open("rb"))


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("words")
    open_word_store(DICTIONARY, parse, cache, build_apart=False)
    return cache


@pytest.fixture(scope="module")
def store(store_dir: Path) -> WordStore:
    """The store as a process maps it from the cache directory."""
    return open_word_store(DICTIONARY, parse, store_dir)


@pytest.fixture(scope="module")
def questions() -> list[str]:
    found = _knowledge({"questions"})
    assert len(found) > 3000
    return found


def _assert_same(store: WordStore, freq: dict[str, int], words: Iterable[object]) -> int:
    checked = 0
    for word in words:
        assert (word in store) == (word in freq), word
        assert store.get(word) == freq.get(word), word  # type: ignore[arg-type]
        assert store.get(word, -7) == freq.get(word, -7), word  # type: ignore[arg-type]
        if word in freq:
            assert store[word] == freq[word], word  # type: ignore[index]
        else:
            with pytest.raises(KeyError):
                store[word]  # type: ignore[index]
        checked += 1
    return checked


def test_every_entry_and_the_total_are_jiebas(store: WordStore, jieba_freq: Freq) -> None:
    freq, total = jieba_freq
    assert len(store) == len(freq) > 400_000 and store.total == total
    assert sum(1 for v in freq.values() if v == 0) > 100_000  # prefixes are entries too, at 0
    for word, value in freq.items():
        assert store.get(word) == value, word
    assert _assert_same(store, freq, random.Random(1).sample(sorted(freq), 5000)) == 5000


def test_what_is_not_an_entry_is_not_in_the_store(
    store: WordStore, jieba_freq: Freq, questions: list[str]
) -> None:
    freq, _ = jieba_freq
    rng = random.Random(7)
    fragments = {
        q[i:j] for q in questions[::3] for i in range(len(q)) for j in range(i + 1, min(len(q), i + 7) + 1)
    }
    absent = [f for f in fragments if f not in freq]
    assert len(absent) > 5000  # most fragments of real sentences are not words
    cjk = [chr(rng.randrange(0x4E00, 0x9FA6)) for _ in range(20_000)]
    random_cjk = ["".join(cjk[i : i + n]) for n in (2, 3, 4) for i in range(0, 6000, n)]
    ascii_words = ["", " ", "a", "A", "iphone", "AT&T", "c#", "B超", "x" * 40, "123", "3.14"]
    single = [chr(c) for c in range(0x4E00, 0x9FA6)] + [chr(c) for c in range(0x20, 0x7F)]
    odd = ["\ud800", "身\udc00", "\x00", "😀", 123, None, b"\xe8\xba\xab"]
    checked = _assert_same(store, freq, [*fragments, *random_cjk, *ascii_words, *single, *odd])
    assert checked > 40_000
    with pytest.raises(TypeError):  # unhashable, as in a dict
        [] in store  # noqa: B015


def test_the_store_built_in_memory_is_the_same(jieba_freq: Freq) -> None:
    freq, total = jieba_freq
    in_memory = open_word_store(DICTIONARY, parse)
    assert len(in_memory) == len(freq) and in_memory.total == total
    words = [*random.Random(3).sample(sorted(freq), 20_000), "护照丢", "身份证补", "", "zz"]
    _assert_same(in_memory, freq, words)


def _pair(store: WordStore, freq: dict[str, int], total: int) -> tuple[Segmenter, Segmenter]:
    """A segmenter over jieba's own dict (as before the store) and one over the store."""
    plain, compact = Segmenter(), Segmenter()
    plain._tok.FREQ, plain._tok.total = _Words(freq), total
    compact._tok.FREQ, compact._tok.total = _Words(store), store.total
    return plain, compact


def test_segmentation_is_the_same_word_for_word(
    store: WordStore, jieba_freq: Freq, questions: list[str]
) -> None:
    plain, compact = _pair(store, *jieba_freq)
    differ = [q for q in questions if plain.segment(q) != compact.segment(q)]
    differ += [q for q in questions if plain.segment_weighted(q) != compact.segment_weighted(q)]
    assert differ == []
    # Not vacuous: the questions are cut into many words, some of them through the HMM (unknown words).
    assert sum(len(compact.segment(q)) for q in questions) > 5 * len(questions)


def test_segmentation_is_the_same_after_learning_domain_words(
    store: WordStore, jieba_freq: Freq, questions: list[str]
) -> None:
    plain, compact = _pair(store, *jieba_freq)
    words = _knowledge({"title", "keywords"}) + [w for group in _knowledge_groups() for w in group]
    domain = [w.replace(" ", "") for w in words if len(w) <= 8]
    assert len(domain) > 100
    before = [compact.segment(q) for q in questions]
    plain.add_words(domain)
    compact.add_words(domain)
    assert dict(plain._tok.FREQ) == dict(compact._tok.FREQ) != {}  # what each was taught
    assert plain._tok.total == compact._tok.total > store.total
    after = [compact.segment(q) for q in questions]
    assert after != before  # the words taught change how some questions are cut
    assert [plain.segment(q) for q in questions] == after
    assert all(plain.segment_weighted(q) == compact.segment_weighted(q) for q in questions[::2])


def _knowledge_groups() -> list[list[str]]:
    data = yaml.safe_load((ROOT / "knowledge" / "synonyms.yaml").read_text(encoding="utf-8"))
    return [[w for w in group if isinstance(w, str)] for group in data.get("groups", [])]


def test_the_process_tokenizer_reads_the_store_not_jiebas_dict(
    monkeypatch: pytest.MonkeyPatch, store_dir: Path
) -> None:
    def no_big_dict(*args: object, **kwargs: object) -> None:
        raise AssertionError("jieba built or loaded its own dictionary")

    monkeypatch.setattr(jieba.Tokenizer, "initialize", no_big_dict)
    monkeypatch.setattr(jieba.Tokenizer, "gen_pfdict", staticmethod(no_big_dict))
    monkeypatch.setattr(segment, "_base", None)
    monkeypatch.setattr(segment, "_cache_dir", store_dir)
    base = segment._base_tokenizer()
    assert isinstance(base.FREQ, WordStore) and base.total == base.FREQ.total
    segmenter = Segmenter()
    assert segmenter._tok.FREQ._general is base.FREQ
    assert segmenter.segment("我的身份证丢了要去哪里补办") == ["身份", "身份证", "丢", "补办"]
    assert segment.is_dictionary_word("身份证") and not segment.is_dictionary_word("身份证丢")
    assert not segment.is_dictionary_word("身份证补")  # a prefix (frequency 0) is not a word


# The file: small dictionaries, so that rebuilding is quick.


def _small_dictionary(path: Path, extra: str = "") -> Path:
    lines = DICTIONARY.read_bytes().splitlines(keepends=True)[::150]
    path.write_bytes(b"".join(lines) + extra.encode())
    return path


def _prepared(cache: Path) -> list[Path]:
    return sorted(p for p in cache.iterdir() if p.suffix == ".bin")


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flipped":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0x20]) + data[middle + 1 :])
    elif how == "header":
        path.write_bytes(data[:20] + b"#" * 30 + data[50:])
    elif how == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(os.urandom(len(data)))


@pytest.mark.parametrize("how", ["truncated", "flipped", "header", "empty", "garbage"])
def test_a_damaged_file_is_rebuilt(tmp_path: Path, how: str) -> None:
    dictionary = _small_dictionary(tmp_path / "dict.txt")
    freq, total = parse(dictionary.open("rb"))
    cache = tmp_path / "cache"
    open_word_store(dictionary, parse, cache, build_apart=False)
    [path] = _prepared(cache)
    good = path.read_bytes()
    _damage(path, how)
    assert path.read_bytes() != good
    store = open_word_store(dictionary, parse, cache, build_apart=False)
    assert len(store) == len(freq) and store.total == total
    _assert_same(store, freq, [*freq, "身份证丢", "zz", ""])
    assert _prepared(cache) == [path] and path.read_bytes() == good  # written again, whole


def test_the_file_is_keyed_by_the_dictionary(tmp_path: Path) -> None:
    dictionary = _small_dictionary(tmp_path / "dict.txt")
    cache = tmp_path / "cache"
    first = open_word_store(dictionary, parse, cache, build_apart=False)
    [old] = _prepared(cache)
    assert "甲乙丙丁戊" not in first and open_word_store(dictionary, parse, cache).source == first.source

    _small_dictionary(dictionary, extra="甲乙丙丁戊 1234 n\n")
    changed = open_word_store(dictionary, parse, cache, build_apart=False)
    [new] = [p for p in _prepared(cache) if p != old]
    assert changed.source != first.source
    assert changed["甲乙丙丁戊"] == 1234 and changed["甲乙"] == 0 and changed.total == first.total + 1234

    # A file in the new one's place holding the old dictionary's store is not believed.
    new.write_bytes(old.read_bytes())
    assert open_word_store(dictionary, parse, cache, build_apart=False)["甲乙丙丁戊"] == 1234


def test_a_cold_start_builds_in_a_child_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dictionary = _small_dictionary(tmp_path / "dict.txt")
    freq, total = parse(dictionary.open("rb"))
    built_here: list[int] = []
    build = word_store._build

    def counted(*args: object) -> bytes:
        built_here.append(1)
        return build(*args)

    monkeypatch.setattr(word_store, "_build", counted)
    store = open_word_store(dictionary, parse, tmp_path / "cache")
    assert built_here == [] and len(_prepared(tmp_path / "cache")) == 1
    assert len(store) == len(freq) and store.total == total
    _assert_same(store, freq, freq)

    # A parser the child cannot import: built here instead, not an error.
    def local_parse(file):
        return parse(file)

    store = open_word_store(dictionary, local_parse, tmp_path / "other")
    assert built_here == [1] and len(store) == len(freq)
