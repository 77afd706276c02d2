"""Agent messages as Open Builder SkillResponses (skill server → Kakao).

```json
{"version": "2.0",
 "template": {"outputs": [{"simpleText": {"text": "상담원에게 전달했어요."}}],
              "quickReplies": [{"label": "상담 종료", "action": "message",
                                "messageText": "상담 종료"}]}}
```

One response shows at most 3 outputs and 10 quick replies, so a long agent message becomes
several *pages* (templates), each sent as its own response: through the AI-chatbot callback or
an Event API call. Text is split at 1,000 characters; images become `simpleImage`; files,
videos, links, places and contacts become `textCard`s with a button; URL buttons become
`textCard` buttons (3 per card, labels of at most 14 characters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from byoc.models import (
    Buttons,
    Contact,
    File,
    Image,
    Link,
    Location,
    OutboundMessage,
    Part,
    QuickReplies,
    QuickReply,
    Sticker,
    Text,
    UrlButton,
    Video,
)

from .chunking import kakao_length, split_text
from .fallback_text import DEFAULT_LABELS, Labels, map_url

__all__ = [
    "MAX_ALT_TEXT",
    "MAX_BUTTON_LABEL",
    "MAX_CARD_BUTTONS",
    "MAX_CARD_TITLE",
    "MAX_OUTPUTS",
    "MAX_QUICK_REPLIES",
    "MAX_SIMPLE_TEXT",
    "MAX_TEXT_CARD",
    "SkillPages",
    "Template",
    "callback_response",
    "clip",
    "empty_response",
    "skill_pages",
    "skill_response",
    "template_preview",
    "text_response",
]

MAX_OUTPUTS = 3
MAX_QUICK_REPLIES = 10
MAX_SIMPLE_TEXT = 1000
MAX_ALT_TEXT = 50
MAX_CARD_TITLE = 50
MAX_TEXT_CARD = 400
"""A single textCard's title and description together."""
MAX_CARD_BUTTONS = 3
MAX_BUTTON_LABEL = 14
MAX_MESSAGE_TEXT = 1000
"""A quick reply's `messageText` is sent back as the user's utterance."""

Template = dict[str, Any]
"""A SkillResponse `template`: `{"outputs": [...], "quickReplies": [...]}`."""
Output = dict[str, Any]


@attrs.frozen(kw_only=True)
class SkillPages:
    """An agent message as templates of at most 3 outputs (quick replies on the last)."""

    templates: tuple[Template, ...]
    notes: tuple[str, ...] = ()


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` UTF-16 units, ending in "…" when cut."""
    if kakao_length(text) <= limit:
        return text
    return split_text(text, limit - 1)[0] + "…"


def _simple_texts(text: str) -> list[Output]:
    return [
        {"simpleText": {"text": chunk}}
        for chunk in split_text(text, MAX_SIMPLE_TEXT)
        if chunk.strip()
    ]


def _label(label: str, notes: list[str]) -> str:
    if kakao_length(label) > MAX_BUTTON_LABEL:
        notes.append(f"a button label was shortened to {MAX_BUTTON_LABEL} characters")
    return clip(label.strip() or "-", MAX_BUTTON_LABEL)


def _text_card(title: str | None, description: str | None, buttons: list[Output]) -> Output:
    card: Output = {}
    if title:
        card["title"] = clip(title, MAX_CARD_TITLE)
    if description:
        room = MAX_TEXT_CARD - kakao_length(card.get("title", ""))
        card["description"] = clip(description, room)
    if not card:
        card["title"] = "-"
    card["buttons"] = buttons
    return {"textCard": card}


def _web_button(label: str, url: str, notes: list[str]) -> Output:
    return {"label": _label(label, notes), "action": "webLink", "webLinkUrl": url}


def _outputs(
    part: Part, notes: list[str], replies: list[QuickReply], labels: Labels
) -> list[Output]:
    if isinstance(part, Text):
        return _simple_texts(part.text)
    if isinstance(part, Image):
        alt = clip(part.caption.strip() or labels.image, MAX_ALT_TEXT)
        image = {"imageUrl": part.url, "altText": alt}
        return [{"simpleImage": image}, *_simple_texts(part.caption)]
    if isinstance(part, File):
        return [_text_card(part.name, None, [_web_button(labels.open_file, part.url, notes)])]
    if isinstance(part, Video):
        name = part.url.rsplit("/", 1)[-1].split("?", 1)[0] or labels.open_video
        card = _text_card(name, None, [_web_button(labels.open_video, part.url, notes)])
        return [card, *_simple_texts(part.caption)]
    if isinstance(part, Link):
        title = part.title or None
        button = _web_button(labels.open_link, part.url, notes)
        return [_text_card(title, None if title else part.url, [button])]
    if isinstance(part, Location):
        button = _web_button(labels.open_map, map_url(part, labels), notes)
        return [_text_card(part.label or labels.location, None, [button])]
    if isinstance(part, Contact):
        if not part.phone.strip():
            return _simple_texts(part.name)
        call = {
            "label": _label(labels.call, notes),
            "action": "phone",
            "phoneNumber": part.phone,
        }
        return [_text_card(part.name, part.phone, [call])]
    if isinstance(part, Buttons):
        return _button_cards(part.text, part.buttons, notes, labels)
    if isinstance(part, QuickReplies):
        replies.extend(part.replies)
        return _simple_texts(part.text)
    if isinstance(part, Sticker):
        if part.url:
            notes.append("a sticker was sent as its picture")
            return [{"simpleImage": {"imageUrl": part.url, "altText": labels.sticker}}]
        notes.append("a sticker without a picture was left out")
        return []
    raise TypeError(f"not a message part: {part!r}")


def _button_cards(
    text: str, buttons: Sequence[UrlButton], notes: list[str], labels: Labels
) -> list[Output]:
    outputs: list[Output] = []
    intro: str | None = text if text.strip() else None
    if intro is not None and kakao_length(intro) > MAX_TEXT_CARD:
        outputs.extend(_simple_texts(intro))
        intro = None
    for start in range(0, len(buttons), MAX_CARD_BUTTONS):
        group = [
            _web_button(b.label, b.url, notes) for b in buttons[start : start + MAX_CARD_BUTTONS]
        ]
        if intro is not None:
            outputs.append(_text_card(None, intro, group))
            intro = None
        else:
            outputs.append(_text_card(labels.links, None, group))
    if intro is not None:
        outputs.extend(_simple_texts(intro))
    return outputs


def _quick_replies(replies: Sequence[QuickReply], notes: list[str]) -> list[Output]:
    if len(replies) > MAX_QUICK_REPLIES:
        notes.append(
            f"{len(replies) - MAX_QUICK_REPLIES} quick replies over Kakao's {MAX_QUICK_REPLIES} "
            "were left out"
        )
    result = []
    for reply in replies[:MAX_QUICK_REPLIES]:
        label = _label(reply.label, notes)
        text = next((t for t in (reply.payload, reply.label) if t and t.strip()), label)
        result.append(
            {"label": label, "action": "message", "messageText": clip(text, MAX_MESSAGE_TEXT)}
        )
    return result


def skill_pages(message: OutboundMessage, labels: Labels = DEFAULT_LABELS) -> SkillPages:
    """An agent message as templates, each within every SkillResponse limit.

    No template is empty: a message of quick replies alone gets `labels.choose` as its text.
    A message with nothing to show gives no templates (and a note).
    """
    notes: list[str] = []
    replies: list[QuickReply] = []
    outputs: list[Output] = []
    for part in message.parts:
        outputs.extend(_outputs(part, notes, replies, labels))
    quick = _quick_replies(replies, notes)
    if quick and not outputs:
        outputs = [{"simpleText": {"text": clip(labels.choose.strip() or "-", MAX_SIMPLE_TEXT)}}]
    templates: list[Template] = [
        {"outputs": outputs[i : i + MAX_OUTPUTS]} for i in range(0, len(outputs), MAX_OUTPUTS)
    ]
    if quick:
        templates[-1]["quickReplies"] = quick
    return SkillPages(templates=tuple(templates), notes=tuple(notes))


def skill_response(template: Template) -> dict[str, Any]:
    """A SkillResponse showing `template`."""
    return {"version": "2.0", "template": template}


def text_response(text: str) -> dict[str, Any]:
    """A SkillResponse of one simpleText (cut to 1,000 characters)."""
    return skill_response({"outputs": [{"simpleText": {"text": clip(text, MAX_SIMPLE_TEXT)}}]})


def callback_response(text: str) -> dict[str, Any]:
    """The immediate answer of a callback-enabled block: the real one follows by callback.

    `data.text` is what the block's waiting message shows through `{{#webhook.text}}`.
    """
    return {"version": "2.0", "useCallback": True, "data": {"text": text}}


def empty_response() -> dict[str, Any]:
    """A SkillResponse that sends nothing (documented for event blocks)."""
    return skill_response({"outputs": []})


def template_preview(template: Template) -> str:
    """The first text of a template (for Event API `event.data.text`), or ""."""
    for output in template.get("outputs", []):
        if "simpleText" in output:
            return str(output["simpleText"]["text"])
        card = output.get("textCard")
        if card:
            return str(card.get("title") or card.get("description") or "")
    return ""
