"""Emulators of KakaoTalk's two routes, for tests, benchmarks and the demo.

- `HappyTalkEmulator`: a 상담톡 dealer (send API, session end, simulated users posting webhooks).
- `OpenBuilderEmulator`: Kakao's chatbot side (skill calls, AI callback, Event API, tasks).

Both are plain ASGI apps (`emulator.app`) built on `byoc.testing.routing`; `server.py` runs
them with uvicorn (`byoc emulate kakao`, `byoc emulate kakao-chatbot`).
"""

from .happytalk import (
    DealerUser,
    HappyTalkEmulator,
    SentMessage,
    Upload,
    WebhookDelivery,
    write_problem,
)
from .media import MediaShelf
from .openbuilder import Bubble, KakaoUser, OpenBuilderEmulator, SkillExchange, skill_payload
from .skill_checks import skill_response_problems

__all__ = [
    "Bubble",
    "DealerUser",
    "HappyTalkEmulator",
    "KakaoUser",
    "MediaShelf",
    "OpenBuilderEmulator",
    "SentMessage",
    "SkillExchange",
    "Upload",
    "WebhookDelivery",
    "skill_payload",
    "skill_response_problems",
    "write_problem",
]
