"""The terminal chat: the same services as every other channel, typed at a prompt."""

from __future__ import annotations

from typing import TextIO

from bot.core.models import Channel, Outcome, ResidentRef
from bot.core.replies import Reply, render_plain
from bot.settings import Settings

GREETING = (
    "欢迎来到{name}网上警务室{sample}。\n请直接输入您想咨询的问题，例如“身份证丢了怎么补办”。输入 q 退出。"
)


async def run_chat(community: str, stdin: TextIO, stdout: TextIO, settings: Settings | None = None) -> int:
    from bot.wiring import build_container

    # A conversation at the terminal waits for the matcher to learn new knowledge (see `policebot ask`).
    settings = (settings or Settings()).model_copy(update={"matcher_training": "blocking"})
    container = await build_container(settings)
    try:
        place = container.kb.community(community)
        resident = ResidentRef(Channel.CLI, "terminal")
        sample = "（示例数据）" if place.sample else ""
        _say(stdout, GREETING.format(name=place.name, sample=sample))
        pending: Reply | None = None  # the last "did you mean", so a number can pick from it
        while True:
            stdout.write("\n您> ")
            stdout.flush()
            line = stdin.readline()
            if not line:
                break
            text = line.strip()
            if text.lower() in {"q", "quit", "exit", "退出"}:
                break
            if pending is not None and text.isdigit():
                choice = int(text)
                if choice == 0:
                    reply = await container.ask.escalate_consultation(pending.consultation_id or 0)
                    pending = None
                    _say(stdout, render_plain(reply, settings.timezone))
                    continue
                if 1 <= choice <= len(pending.choices):
                    picked = pending.choices[choice - 1].entry_id
                    reply = await container.ask.view_entry(community, resident, picked, Channel.CLI)
                    pending = None
                    _say(stdout, render_plain(reply, settings.timezone))
                    continue
            reply = await container.ask.ask(community, resident, text, Channel.CLI)
            pending = reply if reply.outcome is Outcome.CLARIFY and reply.choices else None
            _say(stdout, render_plain(reply, settings.timezone))
        _say(stdout, "再见！紧急情况请随时拨打 110。")
    finally:
        await container.close()
    return 0


def _say(stdout: TextIO, text: str) -> None:
    stdout.write(f"\n警务室> {text}\n")
    stdout.flush()
