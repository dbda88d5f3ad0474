"""The `policebot` command, run for real: `python -m bot ...` in a subprocess.

Every run gets its own working directory, SQLite database and data directory, and reads the small fixture
knowledge base (communities gongyuan and hexi). Each run costs about 1.5 s (the triage fit, about 20 s, is
made once and copied into each data directory), so the runs are few and each checks as much as it can.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.conftest import FIXTURE_KB

REQUIRED_KEYS = {
    "outcome", "entry_id", "candidates", "score", "urgent", "urgent_kind", "numbers", "confidence",
    "evidence", "reason", "text",
}  # fmt: skip
OUTCOMES = {"answer", "clarify", "escalate"}
# Variables bot.settings.Settings reads: the caller's environment must not leak into the runs.
SETTINGS_VARIABLES = {
    "DATABASE_URL",
    "KNOWLEDGE_DIR",
    "DATA_DIR",
    "MATCH_ANSWER_THRESHOLD",
    "MATCH_CLARIFY_THRESHOLD",
    "MATCH_ANSWER_MARGIN",
    "SERVICE_WORKING_DAYS",
    "TIMEZONE",
}


@cache
def _fitted_triage(knowledge: Path) -> tuple[Path, ...]:
    """The triage fit every run would make for itself (about 20 s), made once per knowledge base (its
    questions are controls): each run still has its own data directory, seeded with the fitted model
    the way a second start finds it."""
    import pickle

    from bot.core import triage
    from bot.core.triage.data import knowledge_controls, load_phrasings
    from bot.kb.loader import load_knowledge
    from bot.wiring import build_triage

    folder = Path(tempfile.mkdtemp(prefix="triage-fit-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    kb = load_knowledge(knowledge)
    build_triage(folder, kb)
    # Fitted earlier by another test of this process, the fit is only in memory: keep it on disk too.
    key = triage._key(load_phrasings() + knowledge_controls(kb.all_questions()))
    kept = folder / "cache" / f"triage-{key}.pkl"
    if not kept.exists():
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(pickle.dumps(triage._memo[key]))
    return tuple(sorted((folder / "cache").glob("triage-*.pkl")))


def app_env(
    tmp_path: Path, knowledge: Path, database_url: str, *, unset: frozenset[str] = frozenset()
) -> dict[str, str]:
    """The environment of a fresh app process on `tmp_path`: its own settings only (none of this
    process's, nor `unset`), with the fitted triage model already in its cache."""
    cache_dir = tmp_path / "data" / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    for fitted in _fitted_triage(knowledge):
        shutil.copy2(fitted, cache_dir / fitted.name)
    env = {k: v for k, v in os.environ.items() if k.upper() not in {*SETTINGS_VARIABLES, *unset}}
    env.update(DATABASE_URL=database_url, KNOWLEDGE_DIR=str(knowledge), DATA_DIR=str(tmp_path / "data"))
    return env


def run_cli(
    tmp_path: Path, *args: str, stdin: str | None = None, knowledge: Path = FIXTURE_KB
) -> subprocess.CompletedProcess[str]:
    env = app_env(tmp_path, knowledge, f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    return run_python(tmp_path, env, "-m", "bot", *args, stdin=stdin)


def run_python(
    tmp_path: Path, env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """This Python with `args` in `tmp_path`, its output as text."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def _json_lines(stdout: str) -> list[dict[str, object]]:
    assert stdout.endswith("\n"), stdout[-200:]
    return [json.loads(line) for line in stdout[:-1].split("\n")]


def test_ask_json_answers_a_clear_question(tmp_path: Path) -> None:
    stdout = _ok(run_cli(tmp_path, "ask", "--community", "gongyuan", "--json", "身份证丢了怎么补办"))

    [reply] = _json_lines(stdout)  # exactly one line, and it is JSON
    assert reply.keys() >= REQUIRED_KEYS
    assert reply["outcome"] == "answer"
    assert reply["entry_id"] == "idcard.lost"
    assert isinstance(reply["candidates"], list)
    assert reply["candidates"] in ([], ["idcard.lost"])
    assert isinstance(reply["score"], float) and 55 <= reply["score"] <= 100
    assert reply["urgent"] is False
    assert reply["community"] == "gongyuan"
    assert reply["ticket"] is None and reply["due_at"] is None
    assert isinstance(reply["consultation_id"], int)
    # the whole answer card, rendered for this community (its station fills the {station.name} slot)
    text = reply["text"]
    assert isinstance(text, str) and text.strip()
    assert "居民身份证丢失补领" in text and "居民户口簿" in text and "公园派出所户籍窗口" in text


def test_ask_json_from_stdin_prints_one_object_per_line_in_order(tmp_path: Path) -> None:
    questions = [
        "身份证丢了怎么补办",
        "",
        "😀🙏🎉\u2028\x0c\u200d",  # separators that str.splitlines() would split on, but not a line end
        "补办身份证要带什么" + "户" * (100_000 - 9),
        '<script>alert("身份证")</script><b onclick="x()">补办</b>',
        "救命有人在撬门",
        "身份证到期了怎么换",
    ]
    assert len(questions[3]) == 100_000
    stdout = _ok(
        run_cli(tmp_path, "ask", "--community", "gongyuan", "--json", "-", stdin="\n".join(questions) + "\n")
    )

    replies = _json_lines(stdout)
    assert len(replies) == len(questions)
    for reply in replies:
        assert reply.keys() >= REQUIRED_KEYS, reply
        assert reply["outcome"] in OUTCOMES
        assert reply["entry_id"] is None or isinstance(reply["entry_id"], str)
        assert isinstance(reply["candidates"], list)
        assert all(isinstance(c, str) for c in reply["candidates"])
        assert isinstance(reply["score"], int | float) and 0 <= reply["score"] <= 100
        assert isinstance(reply["urgent"], bool)
        assert (reply["urgent_kind"] is not None) is reply["urgent"] and isinstance(reply["numbers"], list)
        assert 0 <= reply["confidence"] <= 1 and round(reply["confidence"], 3) == reply["confidence"]
        evidence = reply["evidence"]
        assert evidence is None or {"scorer", "phrasing", "scores", "uncovered"} <= evidence.keys()
        assert isinstance(reply["text"], str) and reply["text"].strip()
        assert "<script" not in reply["text"]  # the reply never echoes what the resident typed
    # in input order: each line was recorded as its own consultation, one after the other
    ids = [r["consultation_id"] for r in replies]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)

    clear, empty, emoji, long, html, urgent, renew = replies
    assert (clear["outcome"], clear["entry_id"]) == ("answer", "idcard.lost")
    for blank in (empty, emoji):  # nothing to match: ask for words, do not bother the officers
        assert blank["outcome"] == "clarify" and blank["notice"] == "empty"
        assert blank["candidates"] == [] and blank["ticket"] is None
    assert long["notice"] == "truncated"
    assert html["outcome"] in OUTCOMES
    assert urgent["urgent"] is True and urgent["urgent_kind"] == "crime"
    assert urgent["reason"].startswith("emergency: p ") and clear["reason"]
    assert all(isinstance(r["reason"], str) for r in replies)
    assert urgent["numbers"] == ["110", "12110"]
    assert urgent["outcome"] == "escalate" and urgent["ticket"]
    assert urgent["text"].startswith("【紧急求助】请立即拨打 110") and "工作日" not in urgent["text"]
    assert [r["urgent"] for r in replies].count(True) == 1
    assert (renew["outcome"], renew["entry_id"]) == ("answer", "idcard.renew")


def test_ask_plain_from_stdin_prints_one_line_per_question(tmp_path: Path) -> None:
    stdout = _ok(
        run_cli(
            tmp_path, "ask", "--community", "gongyuan", "-", stdin="身份证丢了怎么补办\n\n救命有人在撬门\n"
        )
    )

    lines = stdout.splitlines()
    assert len(lines) == 3, stdout
    fields = [line.split("\t") for line in lines]
    assert all(len(f) == 3 for f in fields), lines
    assert [f[0] for f in fields] == ["answer", "clarify", "escalate"]
    assert all(re.fullmatch(r"\d{1,3}\.\d\d", f[1]) for f in fields)
    assert fields[0][2] == "idcard.lost 居民身份证丢失补领"
    assert fields[2][2].endswith(" URGENT crime") and "URGENT" not in fields[0][2]
    assert not stdout.lstrip().startswith("{")


def test_unknown_community_exits_2_and_names_the_known_ones(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "ask", "--community", "nowhere", "--json", "身份证丢了怎么补办")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "nowhere" in result.stderr
    assert "gongyuan" in result.stderr and "hexi" in result.stderr
    assert "Traceback" not in result.stderr


def test_kb_check_prints_counts_and_ok(tmp_path: Path) -> None:
    stdout = _ok(run_cli(tmp_path, "kb", "check"))

    assert "全市条目 5 条" in stdout and "社区 2 个" in stdout
    assert "同义词组 4 组" in stdout and "非公安业务话题 1 个" in stdout
    assert re.search(r"^\s+为您服务\t3$", stdout, re.M)
    assert re.search(r"^\s+身份证\t2$", stdout, re.M)
    # visible / own / overrides / hidden: gongyuan adds the patrol entry, overrides one and hides one
    assert re.search(r"^\s+gongyuan\t公园社区（示例数据）\t5 / 1 / 1 / 1$", stdout, re.M)
    assert re.search(r"^\s+hexi\t河西社区\t5 / 0 / 0 / 0$", stdout, re.M)
    assert stdout.splitlines()[-1] == "OK"


def test_kb_train_leaves_the_models_where_a_later_start_finds_them(tmp_path: Path) -> None:
    cache = tmp_path / "data" / "cache"
    stdout = _ok(run_cli(tmp_path, "kb", "train"))

    assert stdout.splitlines()[-1] == "OK" and "交叉验证" in stdout
    trained = {p.name: p.stat().st_mtime_ns for p in cache.glob("matcher-*.pkl")}
    assert trained
    # A second run (a start) finds them: nothing is trained or written again.
    assert _ok(run_cli(tmp_path, "kb", "train")).splitlines()[-1] == "OK"
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("matcher-*.pkl")} == trained


def test_kb_check_rejects_an_entry_without_a_summary(tmp_path: Path) -> None:
    broken = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, broken)
    idcard = broken / "base" / "idcard.yaml"
    source = idcard.read_text(encoding="utf-8")
    summary = "      summary: 身份证丢了可以到户籍地派出所或受理点申请补领。\n"
    assert source.count(summary) == 1
    idcard.write_text(source.replace(summary, ""), encoding="utf-8")

    result = run_cli(tmp_path, "kb", "check", "--dir", str(broken))

    assert result.returncode == 2
    assert "OK" not in result.stdout
    assert "Traceback" not in result.stderr
    problem = next((line for line in result.stderr.splitlines() if "idcard.lost" in line), "")
    assert "base/idcard.yaml" in problem, result.stderr
    assert "answer.summary" in problem, result.stderr
    assert "idcard.renew" not in result.stderr  # only the broken entry is reported


def test_stats_counts_the_consultations_of_two_asks(tmp_path: Path) -> None:
    _ok(run_cli(tmp_path, "ask", "--community", "gongyuan", "身份证丢了怎么补办"))
    _ok(run_cli(tmp_path, "ask", "--community", "gongyuan", "救命有人在撬门"))

    stdout = _ok(run_cli(tmp_path, "stats"))

    total = re.search(r"群众提问 (\d+)（其中紧急 (\d+)）", stdout)
    assert total is not None, stdout
    assert (int(total[1]), int(total[2])) == (2, 1)
    assert re.search(r"^\s+机器人解答\t1$", stdout, re.M), stdout
    assert re.search(r"^\s+转民警\t1$", stdout, re.M), stdout
    assert re.search(r"^\s+公园社区\t2$", stdout, re.M), stdout
    assert re.search(r"^\s+居民身份证丢失补领\t1$", stdout, re.M), stdout
    assert re.search(r"^\s+待认领\t1$", stdout, re.M), stdout  # the emergency opened one ticket

    # Local days, both inclusive, as on the dashboard and in /api/v1/stats: tomorrow has nothing yet.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    same = _ok(run_cli(tmp_path, "stats", "--from", today.isoformat(), "--to", today.isoformat()))
    assert "群众提问 2（" in same, same
    later = today + timedelta(days=1)
    none = _ok(run_cli(tmp_path, "stats", "--since", later.isoformat(), "--until", later.isoformat()))
    assert "群众提问 0（" in none, none
    refused = run_cli(tmp_path, "stats", "--from", "0001-01-01")
    assert refused.returncode != 0 and "2000 to 2099" in refused.stderr


def test_a_rare_ideograph_does_not_stop_a_batch(tmp_path: Path) -> None:
    # 兙 has no reading in pypinyin; at commit 46b586a the matcher raised IndexError on it and the
    # command died with a traceback, dropping every question after it.
    stdout = _ok(
        run_cli(
            tmp_path, "ask", "--community", "hexi", "--json", "-", stdin="身份证兙丢了\n身份证到期了怎么换\n"
        )
    )

    first, second = _json_lines(stdout)
    assert first["outcome"] in OUTCOMES
    assert (second["outcome"], second["entry_id"]) == ("answer", "idcard.renew")
