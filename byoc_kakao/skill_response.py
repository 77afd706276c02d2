"""Agent messages as Open Builder SkillResponses (skill server → Kakao).

```json
{"version": "2.0",
 "template": {"outputs": [{"simpleText": {"text": "상담원에게 전달했어요."}}],
              "quickReplies": [{"label": "상담 종료", "action": "message",
                                "messageText": "상담 종료"}]}}
```

One response shows at most 3 outputs and 10 quick replies, so a long agent message becomes
several *pages* (templates), each sent as its own response: through the AI-chatbot callback or
an Event API call. The components are the ones the answer needs:

| parts | component |
|---|---|
| text | `simpleText`, split at 1,000 characters |
| image | `simpleImage` (its caption as `simpleText`) |
| image followed by URL buttons | `basicCard`: the picture, the caption or intro, 3 buttons |
| several such cards in a row (a Freshchat carousel) | one `carousel` of `basicCard`s (≤ 10) |
| URL buttons | a `textCard` of up to 3 buttons; more: a `carousel` of `textCard`s |
| file, video, link, place, contact | a `textCard` with a button (open, map, call) |
| quick replies | `quickReplies` of the last page (≤ 10, labels of ≤ 14 characters) |

A quick reply sends its label as the user's utterance (`messageText`), so the user sees what
they chose; `SkillPages.reply_payloads` says which utterance stands for which payload, for the
channel to restore when the tap comes back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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
    "MAX_BASIC_CARD",
    "MAX_BUTTON_LABEL",
    "MAX_CARD_BUTTONS",
    "MAX_CARD_TITLE",
    "MAX_CAROUSEL_ITEMS",
    "MAX_CAROUSEL_TEXT_CARD",
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
MAX_CAROUSEL_TEXT_CARD = 128
"""A textCard's description inside a carousel."""
MAX_BASIC_CARD = 230
"""A basicCard's description."""
MAX_CAROUSEL_ITEMS = 10
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
    reply_payloads: Mapping[str, str] = attrs.field(factory=dict)
    """Utterance (a quick reply's `messageText`) → the payload it stands for."""


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


def _text_card(
    title: str | None, description: str | None, buttons: list[Output], limit: int = MAX_TEXT_CARD
) -> Output:
    card: Output = {}
    if title:
        card["title"] = clip(title, MAX_CARD_TITLE)
    if description:
        room = limit - kakao_length(card.get("title", ""))
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
        notes.append("a sticker without a picture was sent as a label")
        return _simple_texts(labels.sticker)
    raise TypeError(f"not a message part: {part!r}")


def _button_cards(
    text: str, buttons: Sequence[UrlButton], notes: list[str], labels: Labels
) -> list[Output]:
    """URL buttons: one textCard of up to 3, or a carousel of textCards for more."""
    outputs: list[Output] = []
    groups = [
        [_web_button(b.label, b.url, notes) for b in buttons[i : i + MAX_CARD_BUTTONS]]
        for i in range(0, len(buttons), MAX_CARD_BUTTONS)
    ]
    limit = MAX_TEXT_CARD if len(groups) == 1 else MAX_CAROUSEL_TEXT_CARD
    intro: str | None = text if text.strip() else None
    if intro is not None and kakao_length(intro) > limit:
        outputs.extend(_simple_texts(intro))
        intro = None
    cards = []
    for group in groups:
        if intro is not None:
            cards.append(_text_card(None, intro, group, limit))
            intro = None
        else:
            cards.append(_text_card(labels.links, None, group, limit))
    if len(cards) == 1:
        outputs.extend(cards)
    else:
        outputs.extend(_carousels("textCard", [card["textCard"] for card in cards]))
    if intro is not None:
        outputs.extend(_simple_texts(intro))
    return outputs


def _carousels(kind: str, items: Sequence[Output]) -> list[Output]:
    return [
        {"carousel": {"type": kind, "items": list(items[i : i + MAX_CAROUSEL_ITEMS])}}
        for i in range(0, len(items), MAX_CAROUSEL_ITEMS)
    ]


def _picture_card(
    image: Image, buttons: Buttons, notes: list[str], labels: Labels
) -> tuple[Output | None, list[Output]]:
    """A picture and the URL buttons after it as a basicCard, when the words fit one; the card
    (None when they do not) and the outputs for the buttons that did not fit on it."""
    words = "\n".join(t for t in (image.caption.strip(), buttons.text.strip()) if t)
    if kakao_length(words) > MAX_BASIC_CARD:
        return None, []
    alt = clip(image.caption.strip() or labels.image, MAX_ALT_TEXT)
    card: Output = {"thumbnail": {"imageUrl": image.url, "altText": alt}}
    if words:
        card["description"] = words
    head, rest = buttons.buttons[:MAX_CARD_BUTTONS], buttons.buttons[MAX_CARD_BUTTONS:]
    card["buttons"] = [_web_button(b.label, b.url, notes) for b in head]
    return card, (_button_cards("", rest, notes, labels) if rest else [])


def _parts_outputs(
    parts: Sequence[Part], notes: list[str], replies: list[QuickReply], labels: Labels
) -> Iterator[Output]:
    """Every part's outputs, pictures followed by URL buttons made into cards, and cards in a
    row gathered into carousels."""
    cards: list[Output] = []
    index = 0
    while index < len(parts):
        part = parts[index]
        following = parts[index + 1] if index + 1 < len(parts) else None
        if isinstance(part, Image) and isinstance(following, Buttons) and following.buttons:
            card, rest = _picture_card(part, following, notes, labels)
            if card is not None:
                cards.append(card)
                if rest:
                    yield from _gathered(cards)
                    cards = []
                    yield from rest
                index += 2
                continue
        yield from _gathered(cards)
        cards = []
        yield from _outputs(part, notes, replies, labels)
        index += 1
    yield from _gathered(cards)


def _gathered(cards: list[Output]) -> list[Output]:
    if len(cards) == 1:
        return [{"basicCard": cards[0]}]
    return _carousels("basicCard", cards) if cards else []


def _quick_replies(
    replies: Sequence[QuickReply], notes: list[str]
) -> tuple[list[Output], dict[str, str]]:
    """The quickReplies, and the payloads their utterances stand for.

    A quick reply says its label (in full) when tapped; a label another one already says, or an
    empty one, says the payload instead, so each tap can be told apart.
    """
    if len(replies) > MAX_QUICK_REPLIES:
        notes.append(
            f"{len(replies) - MAX_QUICK_REPLIES} quick replies over Kakao's {MAX_QUICK_REPLIES} "
            "were left out"
        )
    result: list[Output] = []
    payloads: dict[str, str] = {}
    said: set[str] = set()
    for reply in replies[:MAX_QUICK_REPLIES]:
        label = _label(reply.label, notes)
        text = clip(reply.label.strip(), MAX_MESSAGE_TEXT)
        payload = reply.payload
        if (not text or text in said) and payload and payload.strip():
            text = clip(payload, MAX_MESSAGE_TEXT)
        text = text or label
        said.add(text)
        result.append({"label": label, "action": "message", "messageText": text})
        if payload and payload.strip() and payload != text:
            payloads.setdefault(text, payload)
    return result, payloads


def skill_pages(message: OutboundMessage, labels: Labels = DEFAULT_LABELS) -> SkillPages:
    """An agent message as templates, each within every SkillResponse limit.

    No template is empty: a message of quick replies alone gets `labels.choose` as its text.
    A message with nothing to show gives no templates (and a note).
    """
    notes: list[str] = []
    replies: list[QuickReply] = []
    outputs = list(_parts_outputs(message.parts, notes, replies, labels))
    quick, payloads = _quick_replies(replies, notes)
    if quick and not outputs:
        outputs = [{"simpleText": {"text": clip(labels.choose.strip() or "-", MAX_SIMPLE_TEXT)}}]
    templates: list[Template] = [
        {"outputs": outputs[i : i + MAX_OUTPUTS]} for i in range(0, len(outputs), MAX_OUTPUTS)
    ]
    if quick:
        templates[-1]["quickReplies"] = quick
    return SkillPages(templates=tuple(templates), notes=tuple(notes), reply_payloads=payloads)


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
        carousel = output.get("carousel")
        items = carousel.get("items") if isinstance(carousel, dict) else None
        cards = items[:1] if isinstance(items, list) else []
        cards += [output[kind] for kind in ("textCard", "basicCard") if kind in output]
        for card in cards:
            text = card.get("title") or card.get("description")
            if text:
                return str(text)
    return ""
