"""Telegram HTML: escaping, and splitting long text into messages that each stand on their own.

Telegram measures a message in UTF-16 code units (an emoji counts two). We measure the HTML source,
which is never shorter than the text Telegram counts after parsing, so a chunk that fits here fits there.
"""

from __future__ import annotations

import html
import re
from collections import deque

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024

_TOKEN_RE = re.compile(r"<[^>]*>|&#?\w+;|\n\n|\n|[^<&\n]+|[<&]")
_TAG_NAME_RE = re.compile(r"</?\s*([a-zA-Z0-9-]+)")


class Html(str):
    """Text that is already HTML: the translator inserts it as it is instead of escaping it."""

    __slots__ = ()


def escape(text: str) -> Html:
    """Escape user or knowledge text for parse_mode=HTML (only <, > and & matter there)."""
    return Html(html.escape(text, quote=False))


def bold(text: str) -> Html:
    return Html(f"<b>{html.escape(text, quote=False)}</b>")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """Plain text cut to `limit` characters with an ellipsis (for previews, before escaping)."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def split_html(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut `text` into chunks of at most `limit`, preferring paragraph breaks, then line breaks.

    Tags never break: a chunk ends by closing the tags still open, and the next one reopens them, so
    every chunk is valid HTML on its own. Entities (&amp;) and tags are never cut in half.
    """
    if utf16_len(text) <= limit:
        return [text]
    step = max(1, limit // 4)
    queue: deque[str] = deque()
    for token in _TOKEN_RE.findall(text):
        if len(token) > step and not token.startswith("<"):
            # A long run of text without breaks: feed it in pieces so it can be cut anywhere.
            queue.extend(token[i : i + step] for i in range(0, len(token), step))
        else:
            queue.append(token)

    chunks: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (name, the opening tag as written)
    current: list[str] = []
    first = 0  # where the content of `current` starts, after the reopened tags
    size = 0
    # The best place to cut so far: (index into current, tags open there, rank: 2 ¶, 1 line, 0 any).
    cut: tuple[int, list[tuple[str, str]], int] | None = None

    def start_chunk(tags: list[tuple[str, str]]) -> None:
        nonlocal current, first, size, open_tags, cut
        reopen = "".join(opening for _, opening in tags)
        current = [reopen] if reopen else []
        first = len(current)
        size = utf16_len(reopen)
        open_tags = list(tags)
        cut = None

    def finish(parts: list[str], tags: list[tuple[str, str]]) -> None:
        body = "".join(parts).strip("\n")
        if body:
            chunks.append(body + _closing(tags))

    while queue:
        piece = queue.popleft()
        piece_size = utf16_len(piece)
        if size + piece_size + utf16_len(_closing(open_tags)) > limit and len(current) > first:
            if cut is not None and cut[2] > 0:
                at, tags, _ = cut
                finish(current[:at], tags)
                rest = current[at:]
                start_chunk(tags)
                queue.appendleft(piece)
                queue.extendleft(reversed(rest))
                continue
            finish(current, open_tags)
            start_chunk(open_tags)
        current.append(piece)
        size += piece_size
        _track(piece, open_tags)
        rank = 2 if piece == "\n\n" else 1 if piece == "\n" else 0
        if cut is None or rank >= cut[2]:
            cut = (len(current), list(open_tags), rank)
    if len(current) > first:
        finish(current, open_tags)
    return chunks


def _closing(tags: list[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(tags))


def _track(piece: str, open_tags: list[tuple[str, str]]) -> None:
    if not (piece.startswith("<") and piece.endswith(">")):
        return
    match = _TAG_NAME_RE.match(piece)
    if match is None:
        return
    name = match.group(1).lower()
    if piece.startswith("</"):
        for i in range(len(open_tags) - 1, -1, -1):
            if open_tags[i][0] == name:
                del open_tags[i]
                return
    elif not piece.endswith("/>"):
        open_tags.append((name, piece))
