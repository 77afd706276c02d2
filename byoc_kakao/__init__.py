"""KakaoTalk channel plugins for byoc.

Two routes to KakaoTalk users, two channels:

- `KakaoDealerChannel` (entry point `kakao`): consultation talk (상담톡) through a licensed
  dealer, HappyTalk by default. Real human chat; needs a dealer contract.
- `KakaoChatbotChannel` (entry point `kakao-chatbot`): a self-serve Open Builder chatbot; the
  skill server takes messages in, the AI-chatbot callback and the Event API take replies out.

Emulators of both live in `byoc_kakao.testing`.
"""

from .chatbot import KakaoChatbotChannel
from .chunking import kakao_length, split_text
from .consultation import KakaoDealerChannel
from .dealers import DEALERS, Dealer, DealerOutbound, DealerPayload, MediaUpload, dealer_from_env
from .dealers.happytalk import HappyTalkDealer
from .event_api import EventApiClient, EventUser, TalkAccepted, TaskFailure, TaskResult
from .fallback_text import Labels
from .skill_request import SkillRequest, inbound_parts, parse_skill_request
from .skill_response import SkillPages, skill_pages

__all__ = [
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
