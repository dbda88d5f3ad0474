"""`policebot`: ask, chat, check the knowledge base, show statistics.

Nothing here imports aiogram or aiohttp: the terminal paths must start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.core.knowledge import UnknownCommunityError
from bot.core.models import Channel, Outcome, ResidentRef
from bot.core.replies import Reply, render_plain
from bot.core.reply_json import reply_json
from bot.kb.loader import KnowledgeError, load_knowledge
from bot.logs import configure_logging, defaults
from bot.settings import Settings

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    _utf8_stdio()
    _configure_logging(serving=args.handler is _cmd_run)
    try:
        return args.handler(args)
    except KnowledgeError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except UnknownCommunityError as exc:
        print(f"错误：没有这个社区 {exc.slug!r}。可用的社区：{', '.join(exc.known)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _configure_logging(*, serving: bool) -> None:
    try:
        settings = Settings()
    except ValueError:  # a malformed setting: the command reads the settings again and says which
        log_format, level = defaults(None, None, serving=serving)
    else:
        log_format, level = defaults(settings.log_format, settings.log_level, serving=serving)
    configure_logging(log_format, level)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policebot", description="网上警务室：社区警务咨询机器人")
    sub = parser.add_subparsers(title="commands")

    ask = sub.add_parser("ask", help="answer one question, or one per line from stdin with -")
    ask.add_argument("--community", required=True, help="community slug, e.g. chengzhong-gongyuan")
    ask.add_argument("--json", action="store_true", help="one JSON object per result line")
    ask.add_argument("--resident", default=None, help="pseudonymous resident id (default: the OS user)")
    ask.add_argument(
        "--conversation",
        default=None,
        metavar="NAME",
        help="read the questions as one conversation (follow-ups use what came before); it starts afresh "
        "with each run. Without it every question stands alone",
    )
    ask.add_argument("question", help="the question, or - to read one question per line from stdin")
    ask.set_defaults(handler=_cmd_ask)

    chat = sub.add_parser("chat", help="a terminal conversation with the engine")
    chat.add_argument("--community", required=True)
    chat.set_defaults(handler=_cmd_chat)

    kb = sub.add_parser("kb", help="knowledge base tools")
    kb_sub = kb.add_subparsers(title="kb commands")
    check = kb_sub.add_parser("check", help="validate knowledge/ and print entries per section and category")
    check.add_argument("--dir", type=Path, default=None, help="knowledge directory (default: KNOWLEDGE_DIR)")
    check.set_defaults(handler=_cmd_kb_check)

    train = kb_sub.add_parser(
        "train", help="train the matcher and the emergency triage for knowledge/ into DATA_DIR's cache"
    )
    train.add_argument("--dir", type=Path, default=None, help="knowledge directory (default: KNOWLEDGE_DIR)")
    train.set_defaults(handler=_cmd_kb_train)

    export = kb_sub.add_parser("export", help="write approved knowledge drafts to knowledge/approved/")
    export.add_argument("--dir", type=Path, default=None, help="default: KNOWLEDGE_DIR/approved")
    export.set_defaults(handler=_cmd_kb_export)

    officers = sub.add_parser("officers", help="the allowlist of officers (Telegram and web)")
    officers_sub = officers.add_subparsers(title="officers commands")
    add = officers_sub.add_parser("add", help="add an officer (or --role admin)")
    _staff_arguments(add, default_role="officer")
    add.set_defaults(handler=_cmd_staff_add)
    remove = officers_sub.add_parser("remove", help="deactivate an account by its id")
    remove.add_argument("id", type=int)
    remove.set_defaults(handler=_cmd_staff_remove)
    listing = officers_sub.add_parser("list", help="all accounts")
    listing.set_defaults(handler=_cmd_staff_list)
    signout = officers_sub.add_parser("signout", help="end every web session of an account (by its id)")
    signout.add_argument("id", type=int)
    signout.set_defaults(handler=_cmd_staff_signout)

    users = sub.add_parser("users", help="web console accounts")
    users_sub = users.add_subparsers(title="users commands")
    user_add = users_sub.add_parser("add", help="add a web account")
    _staff_arguments(user_add, default_role=None)
    user_add.set_defaults(handler=_cmd_staff_add, web=True)

    run = sub.add_parser("run", help="serve the web app, Telegram (with BOT_TOKEN) and the delivery loop")
    run.set_defaults(handler=_cmd_run)

    stats = sub.add_parser("stats", help="consultations by community, topic and outcome")
    stats.add_argument("--community", default=None)
    # Local days of TIMEZONE, both inclusive: the period of the dashboard, the exports and /api/v1/stats.
    stats.add_argument("--since", "--from", dest="since", type=_day, default=None, help="YYYY-MM-DD")
    stats.add_argument("--until", "--to", dest="until", type=_day, default=None, help="YYYY-MM-DD")
    stats.set_defaults(handler=_cmd_stats)
    return parser


def _staff_arguments(parser: argparse.ArgumentParser, default_role: str | None) -> None:
    parser.add_argument("--name", required=True, help="display name, e.g. 李警官")
    parser.add_argument(
        "--role", choices=["officer", "admin"], default=default_role, required=default_role is None
    )
    parser.add_argument("--community", action="append", default=[], help="community slug (repeatable)")
    parser.add_argument("--telegram-id", type=int, default=None, help="Telegram user id")
    parser.add_argument("--username", default=None, help="web console login")
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin instead of prompting"
    )


def _day(value: str) -> date:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None
    if not 2000 <= day.year <= 2099:  # the dashboard's and the API's range
        raise argparse.ArgumentTypeError(f"a date of 2000 to 2099, not {value!r}")
    return day


def _utf8_stdio() -> None:
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="replace")


def _resident(explicit: str | None) -> ResidentRef:
    if explicit:
        return ResidentRef(Channel.CLI, explicit)
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers; any stable pseudonym will do
        user = "cli"
    return ResidentRef(Channel.CLI, user)


def _summary_line(reply: Reply) -> str:
    if reply.outcome is Outcome.ANSWER and reply.entry:
        detail = f"{reply.entry.id} {reply.entry.title}"
    elif reply.outcome is Outcome.CLARIFY:
        detail = ",".join(c.entry_id for c in reply.choices)
    else:
        detail = reply.ticket or ""
    flag = f" URGENT {reply.urgent_kind.value if reply.urgent_kind else ''}".rstrip() if reply.urgent else ""
    return f"{reply.outcome.value}\t{reply.score:.2f}\t{detail}{flag}"


def _cmd_ask(args: argparse.Namespace) -> int:
    return asyncio.run(_ask(args, sys.stdin, sys.stdout))


async def _ask(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    from bot.wiring import build_container

    # Answers as good as the knowledge allows, never a warming server's cautious ones: learned first.
    settings = Settings().model_copy(update={"matcher_training": "blocking"})
    container = await build_container(settings)
    try:
        container.kb.community(args.community)
        resident = _resident(args.resident)
        questions = (line.rstrip("\r\n") for line in stdin) if args.question == "-" else [args.question]
        if args.conversation:
            await container.ask.forget_conversation(Channel.CLI, resident, args.conversation)
        for question in questions:
            reply = await container.ask.ask(
                args.community, resident, question, Channel.CLI, conversation=args.conversation
            )
            if args.json:
                stdout.write(json.dumps(reply_json(reply, settings.timezone), ensure_ascii=False) + "\n")
            elif args.question == "-":
                stdout.write(_summary_line(reply) + "\n")
            else:
                stdout.write(render_plain(reply, settings.timezone) + "\n")
            stdout.flush()
    finally:
        await container.close()
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    from bot.channels.terminal import run_chat

    return asyncio.run(run_chat(args.community, sys.stdin, sys.stdout))


def _cmd_kb_check(args: argparse.Namespace) -> int:
    directory = args.dir or Settings().knowledge_dir
    kb = load_knowledge(directory)
    from collections import Counter

    base = [e for e in kb.entries.values() if e.community is None]
    print(
        f"知识库 {directory}: 全市条目 {len(base)} 条，社区 {len(kb.communities)} 个，"
        f"同义词组 {len(kb.synonyms)} 组，非公安业务话题 {len(kb.referrals)} 个"
    )
    print("\n按栏目：")
    for section, n in sorted(Counter(e.section for e in base).items()):
        print(f"  {section}\t{n}")
    print("\n按分类：")
    for category, n in sorted(Counter(e.category for e in base).items()):
        print(f"  {category}\t{n}")
    print("\n按社区（可见条目 / 本社区独有 / 覆盖 / 隐藏）：")
    for slug, community in sorted(kb.communities.items()):
        local = sum(1 for e in kb.entries.values() if e.community == slug)
        overrides = sum(1 for (s, _) in kb.overrides if s == slug)
        hidden = len(kb.hidden.get(slug, ()))
        sample = "（示例数据）" if community.sample else ""
        visible = len(kb.visible_ids(slug))
        print(f"  {slug}\t{community.name}{sample}\t{visible} / {local} / {overrides} / {hidden}")
    unscoped = sorted(e.id for e in kb.entries.values() if not e.not_covered)
    if unscoped:
        # Not an error (loading still succeeds) but a gap: without negatives the matcher cannot learn
        # what sounds like the entry and is not it, and officers cannot see its scope.
        print(f"\n缺少 not_covered（不属于本条目的相近问题）的条目 {len(unscoped)} 条：")
        for entry_id in unscoped:
            print(f"  {entry_id}")
    print("\nOK")
    return 0


def _cmd_staff_add(args: argparse.Namespace) -> int:
    from bot.core.models import Role

    if getattr(args, "web", False) and not args.username:
        print("错误：网页账号需要 --username", file=sys.stderr)
        return EXIT_USAGE
    password = None
    if args.username:
        password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else getpass.getpass("密码：")

    async def add() -> int:
        from bot.core.ports import ConflictError
        from bot.wiring import build_container

        container = await build_container(Settings())
        try:
            staff = await container.staff.add(
                args.name,
                Role(args.role),
                args.community,
                telegram_user_id=args.telegram_id,
                username=args.username,
                password=password,
            )
        except (ValueError, ConflictError) as exc:
            print(f"错误：{exc}", file=sys.stderr)
            return EXIT_USAGE
        finally:
            await container.close()
        where = ", ".join(staff.communities) or "全部社区"
        print(f"已添加 #{staff.id} {staff.name}（{staff.role.value}）：{where}")
        return 0

    return asyncio.run(add())


def _cmd_staff_signout(args: argparse.Namespace) -> int:
    """Sign out everywhere: a lost phone or a leaked password; the account stays on the allowlist."""

    async def signout() -> int:
        from bot.wiring import build_container

        container = await build_container(Settings())
        try:
            ended = await container.staff.end_all_sessions(args.id)
        finally:
            await container.close()
        print(f"#{args.id} 的 {ended} 个网页登录已全部退出")
        return 0

    return asyncio.run(signout())


def _cmd_staff_remove(args: argparse.Namespace) -> int:
    async def remove() -> int:
        from bot.core.ports import NotFoundError
        from bot.wiring import build_container

        container = await build_container(Settings())
        try:
            await container.staff.remove(args.id)
        except NotFoundError as exc:
            print(f"错误：{exc}", file=sys.stderr)
            return EXIT_USAGE
        finally:
            await container.close()
        print(f"已停用 #{args.id}")
        return 0

    return asyncio.run(remove())


def _cmd_staff_list(args: argparse.Namespace) -> int:
    async def listing() -> int:
        from bot.wiring import build_container

        container = await build_container(Settings())
        try:
            accounts = await container.staff.list()
        finally:
            await container.close()
        for s in accounts:
            state = "" if s.active else "（已停用）"
            print(
                f"#{s.id}\t{s.name}{state}\t{s.role.value}\t{','.join(s.communities) or '全部'}\t"
                f"telegram={s.telegram_user_id or '-'}\tweb={s.username or '-'}"
            )
        return 0

    return asyncio.run(listing())


def _cmd_kb_train(args: argparse.Namespace) -> int:
    """What a first start with this knowledge would train (minutes for the shipped knowledge base), done
    ahead, for instance while an image is built: every process started on DATA_DIR then starts warm."""
    import time

    from bot.wiring import build_matcher, build_triage

    settings = Settings()
    kb = load_knowledge(args.dir or settings.knowledge_dir)
    started = time.monotonic()
    matcher = build_matcher(settings, kb)
    build_triage(settings.data_dir, kb)
    seconds = time.monotonic() - started
    print(f"匹配与紧急研判模型就绪（{seconds:.1f} 秒），缓存于 {settings.data_dir / 'cache'}")
    for scorers, figures in matcher.report.items():
        print(f"  交叉验证 [{scorers}]: " + " ".join(f"{k}={v:.3f}" for k, v in figures.items()))
    print("OK")
    return 0


def _cmd_kb_export(args: argparse.Namespace) -> int:
    async def export() -> int:
        from bot.wiring import build_container

        settings = Settings()
        container = await build_container(settings)
        try:
            written = await container.drafts.export(args.dir or settings.knowledge_dir / "approved")
        finally:
            await container.close()
        for path in written:
            print(f"写入 {path}")
        print(f"共 {len(written)} 个文件" if written else "没有已审核的知识草稿")
        return 0

    return asyncio.run(export())


def _cmd_run(args: argparse.Namespace) -> int:
    from bot.app import serve

    return asyncio.run(serve(Settings()))


def _cmd_stats(args: argparse.Namespace) -> int:
    return asyncio.run(_stats(args, sys.stdout))


async def _stats(args: argparse.Namespace, stdout: TextIO) -> int:
    """The period's figures from the same report as the dashboard, the annual page, Telegram /stats and
    /api/v1/stats: questions asked (guide views apart) = answered + clarified + escalated."""
    from zoneinfo import ZoneInfo

    from bot.services.reports import ESCALATION_LABELS, days_query
    from bot.wiring import build_container

    container = await build_container(Settings())
    try:
        if args.community:
            container.kb.community(args.community)
        tz = container.settings.timezone
        until = args.until or datetime.now(ZoneInfo(tz)).date()
        since = args.since or until - timedelta(days=29)
        since, until = min(since, until), max(since, until)
        report = await container.reports.report(days_query(since, until, tz, args.community))
    finally:
        await container.close()
    s = report.snapshot
    titles = {eid: e.title for eid, e in container.kb.entries.items()}
    names = {slug: c.name for slug, c in container.kb.communities.items()}
    labels = {"answer": "机器人解答", "clarify": "追问澄清", "escalate": "转民警"}
    out = [
        f"{since.isoformat()} 至 {until.isoformat()}（{tz}）",
        f"群众提问 {report.asked}（其中紧急 {s.urgent}），另有浏览办事指南 {s.menu_views} 次",
        "",
        "按结果：",
    ]
    out += [f"  {labels.get(k, k)}\t{v}" for k, v in sorted(report.questions_by_outcome.items())]
    out += ["", "按社区："] + [f"  {names.get(r.key, r.key)}\t{r.count}" for r in s.by_community]
    out += ["", "按话题："] + [f"  {titles.get(r.key, r.key)}\t{r.count}" for r in s.by_entry]
    if s.escalations:
        out += ["", "转办工单："] + [
            f"  {ESCALATION_LABELS.get(k, k)}\t{v}" for k, v in sorted(s.escalations.items())
        ]
        rate = report.answer_rate
        if rate is not None:
            out.append(f"  办结率\t{rate:.1%}（重复提问、无效信息 {s.not_a_matter} 件不计入）")
    if s.feedback or s.satisfaction:
        out += ["", "评价："] + [f"  {k}\t{v}" for k, v in sorted({**s.feedback, **s.satisfaction}.items())]
    stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
