"""Text for parts a Kakao route cannot show natively.

Degrading is explicit: a location becomes its label and a Kakao Map link, a contact its name and
number, buttons their labels and URLs. Labels default to Korean, the language of nearly every
KakaoTalk user; pass your own `Labels` to change them.
"""

from __future__ import annotations

from urllib.parse import quote

import attrs

from byoc.models import Buttons, Contact, Link, Location, QuickReplies

__all__ = [
    "DEFAULT_LABELS",
    "Labels",
    "buttons_text",
    "contact_text",
    "link_text",
    "location_text",
    "map_url",
    "quick_replies_text",
]


@attrs.frozen(kw_only=True)
class Labels:
    """Words the mappers put on cards and buttons they make themselves."""

    open_file: str = "파일 열기"
    open_video: str = "동영상 보기"
    open_link: str = "열기"
    open_map: str = "지도 보기"
    call: str = "전화하기"
    links: str = "링크"
    image: str = "이미지"
    location: str = "위치"
    choose: str = "아래에서 선택해 주세요."
    sticker: str = "(스티커)"


DEFAULT_LABELS = Labels()


def map_url(location: Location, labels: Labels = DEFAULT_LABELS) -> str:
    """A Kakao Map link to the point, named after its label."""
    name = quote(location.label or labels.location, safe="")
    return f"https://map.kakao.com/link/map/{name},{location.lat},{location.lon}"


def location_text(location: Location, labels: Labels = DEFAULT_LABELS) -> str:
    url = map_url(location, labels)
    return f"{location.label}\n{url}" if location.label else url


def contact_text(contact: Contact) -> str:
    return f"{contact.name}\n{contact.phone}"


def link_text(link: Link) -> str:
    return f"{link.title}\n{link.url}" if link.title else link.url


def buttons_text(buttons: Buttons) -> str:
    lines = [buttons.text] if buttons.text else []
    lines.extend(f"{b.label}: {b.url}" for b in buttons.buttons)
    return "\n".join(lines)


def quick_replies_text(replies: QuickReplies) -> str:
    lines = [replies.text] if replies.text else []
    lines.extend(f"- {r.label}" for r in replies.replies)
    return "\n".join(lines)
