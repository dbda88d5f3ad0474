"""What residents send that is not a plain question gets a polite reply, never an exception."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.telegram.fake_api import FakeBotAPI
from tests.telegram.harness import OFFICERS_CHAT, RESIDENT, Harness, make_harness

STICKER = {"sticker": {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512, "height": 512,
                       "is_animated": False, "is_video": False}}  # fmt: skip
PHOTO = {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 90, "height": 90}]}
VOICE = {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 3}}
DOCUMENT = {"document": {"file_id": "d", "file_unique_id": "d", "file_name": "材料.pdf"}}


async def bot_says(tg: Harness, **send: object) -> str:
    after = len(tg.api.calls)
    await tg.send(RESIDENT, **send)  # type: ignore[arg-type]
    call = await tg.api.next_call("sendMessage", RESIDENT.id, after=after)
    return str(call.params["text"])


async def test_stickers_photos_voice_and_files_get_a_polite_reply(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    for extra in (STICKER, PHOTO, VOICE, DOCUMENT):
        assert "只能阅读文字" in await bot_says(tg, extra=extra)


async def test_edited_message_is_not_asked_again(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    text = await bot_says(tg, text="身份证丢了怎么补办", edited=True)
    assert "修改" in text


async def test_very_long_message_is_answered_from_its_beginning(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    text = await bot_says(tg, text="身份证丢了怎么补办" + "。" * 10_000)
    assert "消息很长" in text
    assert all(len(c.params["text"]) <= 4096 for c in tg.api.sent("sendMessage"))


async def test_html_like_text_is_escaped_everywhere(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    await bot_says(tg, text="<script>alert(1)</script> <b>我家门锁</b> & 钥匙")
    await tg.deliver()
    post = tg.api.sent("sendMessage", OFFICERS_CHAT)[-1].params["text"]
    assert "&lt;script&gt;" in post and "<script>" not in post
    assert "&lt;b&gt;我家门锁&lt;/b&gt; &amp; 钥匙" in post
    mine = await bot_says(tg, text="/my")
    assert "&lt;script&gt;" in mine and "<script>" not in mine


async def test_empty_and_emoji_only_messages_ask_for_words(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    assert "没有看懂您的消息" in await bot_says(tg, text="👍👍")


async def test_forged_callback_data_does_nothing(tg: Harness) -> None:
    await tg.start_in(RESIDENT)
    question = (await tg.api.next_call("sendMessage", RESIDENT.id)).result
    forged = ("n:1:AAAAAAAA", "u:1:1:forged00", "r:1:0:forged00", "x:c:1", "garbage", "e:../../etc:0:0")
    non_ascii = ("n:1:签名签名签名签名", "u:1:1:éééééééé", "r:1:0:签名")  # compared as bytes
    for data in forged + non_ascii:
        answer = await tg.callback_answer(await tg.press(RESIDENT, question, data))
        assert "失效" in answer["text"] or "更新" in answer["text"], (data, answer)
    async with tg.c.uow_factory() as uow:
        assert await uow.escalations.get(1) is None


async def test_flooding_resident_is_slowed_down(api: FakeBotAPI, tmp_path: Path) -> None:
    tg = await make_harness(api, tmp_path, throttle_rate=3)
    try:
        await tg.start_in(RESIDENT)
        for _ in range(6):
            await tg.send(RESIDENT, "身份证丢了怎么补办")

        def count(marker: str) -> int:
            return sum(marker in c.params["text"] for c in tg.api.sent("sendMessage", RESIDENT.id))

        # /start counts too: 3 per window, so 2 answers, 1 warning, and the rest dropped quietly.
        await tg.api.wait_for(lambda: count("【居民身份证丢失补领】") == 2 and count("太快") == 1)
        await asyncio.sleep(0.2)
        assert count("【居民身份证丢失补领】") == 2 and count("太快") == 1
    finally:
        await tg.stop()
