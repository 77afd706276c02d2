"""The public surface of `byoc_kakao`, pinned so it cannot drift by accident."""

from __future__ import annotations

from pathlib import Path

import pytest

import byoc_kakao
import byoc_kakao.testing
from byoc.channel import Channel

tomllib = pytest.importorskip("tomllib")
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_exported_members() -> None:
    assert sorted(byoc_kakao.__all__) == [
        "DEALERS",
        "Dealer",
        "DealerOutbound",
        "DealerPayload",
        "EventApiClient",
        "EventUser",
        "HappyTalkDealer",
        "KakaoChatbotChannel",
        "KakaoDealerChannel",
        "Labels",
        "MediaUpload",
        "SkillPages",
        "SkillRequest",
        "TalkAccepted",
        "TaskFailure",
        "TaskResult",
        "dealer_from_env",
        "inbound_parts",
        "kakao_length",
        "parse_skill_request",
        "skill_pages",
        "split_text",
    ]
    for name in byoc_kakao.__all__:
        member = getattr(byoc_kakao, name)
        assert getattr(member, "__module__", "byoc_kakao").startswith("byoc_kakao")


def test_testing_exports() -> None:
    for name in byoc_kakao.testing.__all__:
        assert getattr(byoc_kakao.testing, name) is not None
    assert {"HappyTalkEmulator", "OpenBuilderEmulator"} <= set(byoc_kakao.testing.__all__)


def test_entry_points_name_the_channels_and_emulators() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    channels = project["entry-points"]["byoc.channels"]
    emulators = project["entry-points"]["byoc.emulators"]
    assert channels["kakao"] == "byoc_kakao:KakaoDealerChannel"
    assert channels["kakao-chatbot"] == "byoc_kakao:KakaoChatbotChannel"
    assert emulators["kakao"] == "byoc_kakao.testing.server:main_dealer"
    assert emulators["kakao-chatbot"] == "byoc_kakao.testing.server:main_chatbot"
    for target in [*channels.values(), *emulators.values()]:
        module, _, attr = target.partition(":")
        assert callable(getattr(__import__(module, fromlist=[attr]), attr))
    for name in ("kakao", "kakao-chatbot"):
        channel = getattr(byoc_kakao, channels[name].partition(":")[2])
        assert issubclass(channel, Channel) and channel.name == name
