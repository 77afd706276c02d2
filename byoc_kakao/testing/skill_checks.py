"""Open Builder's rules for a SkillResponse, as the emulator enforces them.

Written from Kakao's answer-format documentation, separately from the channel's mapper, so a
test that runs the mapper's output through these checks compares two readings of the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..chunking import kakao_length

__all__ = ["skill_response_problems"]

_BUTTON_ACTIONS = {"webLink", "message", "phone", "block", "share", "operator", "osLink"}
_QUICK_REPLY_ACTIONS = {"message", "block"}
# Valid components the bridge never produces: accepted without a deeper check.
_UNCHECKED = {"commerceCard", "listCard", "itemCard"}
_CAROUSEL_TYPES = {"basicCard", "commerceCard", "listCard", "itemCard", "textCard"}


def _text(value: Any, limit: int, *, required: bool = True) -> str | None:
    """A problem with a text field, or None."""
    if value is None:
        return "missing" if required else None
    if not isinstance(value, str):
        return "not a string"
    if required and not value.strip():
        return "empty"
    if kakao_length(value) > limit:
        return f"longer than {limit}"
    return None


def _button(button: Any, where: str, label_limit: int) -> list[str]:
    if not isinstance(button, Mapping):
        return [f"{where}: not an object"]
    problems = []
    if (p := _text(button.get("label"), label_limit)) is not None:
        problems.append(f"{where}.label: {p}")
    action = button.get("action")
    if action not in _BUTTON_ACTIONS:
        problems.append(f"{where}.action: unknown {action!r}")
    needs = {"webLink": "webLinkUrl", "phone": "phoneNumber", "block": "blockId"}.get(str(action))
    if needs and (p := _text(button.get(needs), 10_000)) is not None:
        problems.append(f"{where}.{needs}: {p}")
    return problems


def _buttons(value: Any, where: str, layout: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        return [f"{where}: not a list"]
    limit = 2 if layout == "horizontal" else 3
    problems = [f"{where}: more than {limit} buttons"] if len(value) > limit else []
    label_limit = 8 if layout == "horizontal" else 14
    for n, button in enumerate(value):
        problems.extend(_button(button, f"{where}[{n}]", label_limit))
    return problems


def _component(output: Any, where: str) -> list[str]:
    if not isinstance(output, Mapping) or len(output) != 1:
        return [f"{where}: must be an object with exactly one component"]
    ((kind, body),) = output.items()
    if not isinstance(body, Mapping):
        return [f"{where}.{kind}: not an object"]
    return _card(kind, body, f"{where}.{kind}", carousel=False)


def _carousel(body: Mapping[str, Any], at: str) -> list[str]:
    """A carousel: 1 to 10 cards of one type (simpleText and simpleImage cannot be carouselled)."""
    kind = body.get("type")
    if kind not in _CAROUSEL_TYPES:
        return [f"{at}.type: {kind!r} cannot be carouselled"]
    items = body.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= 10:
        return [f"{at}.items: must list 1 to 10 cards"]
    problems: list[str] = []
    for n, item in enumerate(items):
        if not isinstance(item, Mapping):
            problems.append(f"{at}.items[{n}]: not an object")
        else:
            problems.extend(_card(str(kind), item, f"{at}.items[{n}]", carousel=True))
    return problems


def _card(kind: str, body: Mapping[str, Any], at: str, *, carousel: bool) -> list[str]:
    problems: list[str] = []
    if kind == "carousel" and not carousel:
        problems.extend(_carousel(body, at))
    elif kind == "simpleText" and not carousel:
        if (p := _text(body.get("text"), 1000)) is not None:
            problems.append(f"{at}.text: {p}")
    elif kind == "simpleImage" and not carousel:
        if (p := _text(body.get("imageUrl"), 10_000)) is not None:
            problems.append(f"{at}.imageUrl: {p}")
        if (p := _text(body.get("altText"), 50)) is not None:
            problems.append(f"{at}.altText: {p}")
    elif kind == "textCard":
        title, description = body.get("title"), body.get("description")
        if title is None and description is None:
            problems.append(f"{at}: needs a title or a description")
        if (p := _text(title, 50, required=False)) is not None:
            problems.append(f"{at}.title: {p}")
        # 400 for title and description together; a description in a carousel: 128.
        limit = 128 if carousel else 400
        if (p := _text(description, limit, required=False)) is not None:
            problems.append(f"{at}.description: {p}")
        both = (title if isinstance(title, str) else "") + (
            description if isinstance(description, str) else ""
        )
        if not carousel and kakao_length(both) > 400:
            problems.append(f"{at}: title and description longer than 400 together")
        problems.extend(_buttons(body.get("buttons"), f"{at}.buttons", body.get("buttonLayout")))
    elif kind == "basicCard":
        thumbnail = body.get("thumbnail")
        if not isinstance(thumbnail, Mapping):
            problems.append(f"{at}.thumbnail: missing")
        elif (p := _text(thumbnail.get("imageUrl"), 10_000)) is not None:
            problems.append(f"{at}.thumbnail.imageUrl: {p}")
        if (p := _text(body.get("title"), 50, required=False)) is not None:
            problems.append(f"{at}.title: {p}")
        if (p := _text(body.get("description"), 230, required=False)) is not None:
            problems.append(f"{at}.description: {p}")
        problems.extend(_buttons(body.get("buttons"), f"{at}.buttons", body.get("buttonLayout")))
    elif kind not in _UNCHECKED:
        problems.append(f"{at}: unknown component {kind!r}")
    return problems


def skill_response_problems(body: Any, *, allow_empty: bool = False) -> list[str]:
    """What is wrong with a SkillResponse; an empty list means Kakao would show it.

    `allow_empty` accepts `outputs: []` ("send nothing"), documented for event blocks.
    """
    if not isinstance(body, Mapping):
        return ["the response is not a JSON object"]
    if body.get("version") != "2.0":
        return ['version must be "2.0"']
    if body.get("useCallback") is True:
        data = body.get("data")
        return [] if data is None or isinstance(data, Mapping) else ["data: not an object"]
    template = body.get("template")
    if not isinstance(template, Mapping):
        return ["template: missing"]
    outputs = template.get("outputs")
    if not isinstance(outputs, list):
        return ["template.outputs: not a list"]
    problems: list[str] = []
    if len(outputs) > 3 or (not outputs and not allow_empty):
        problems.append(f"template.outputs: {len(outputs)} components, Kakao shows 1 to 3")
    for n, output in enumerate(outputs):
        problems.extend(_component(output, f"template.outputs[{n}]"))
    replies = template.get("quickReplies")
    if replies is not None:
        if not isinstance(replies, list):
            return [*problems, "template.quickReplies: not a list"]
        if len(replies) > 10:
            problems.append("template.quickReplies: more than 10")
        for n, reply in enumerate(replies):
            where = f"template.quickReplies[{n}]"
            if not isinstance(reply, Mapping):
                problems.append(f"{where}: not an object")
                continue
            if (p := _text(reply.get("label"), 14)) is not None:
                problems.append(f"{where}.label: {p}")
            action = reply.get("action")
            if action not in _QUICK_REPLY_ACTIONS:
                problems.append(f"{where}.action: unknown {action!r}")
            elif action == "message" and (p := _text(reply.get("messageText"), 1000)) is not None:
                problems.append(f"{where}.messageText: {p}")
    return problems
