"""KakaoTalk channel plugins for byoc.

Two routes to KakaoTalk users, two channels:

- `KakaoDealerChannel` (entry point `kakao`): consultation talk (상담톡) through a licensed
  dealer, HappyTalk by default. Real human chat; needs a dealer contract.
- `KakaoChatbotChannel` (entry point `kakao-chatbot`): a self-serve Open Builder chatbot; the
  skill server takes messages in, the AI-chatbot callback and the Event API take replies out.

Emulators of both live in `byoc_kakao.testing`.
"""

from .chunking import kakao_length, split_text
from .consultation import KakaoDealerChannel
from .dealers import DEALERS, Dealer, DealerOutbound, DealerPayload, dealer_from_env
from .dealers.happytalk import HappyTalkDealer
from .fallback_text import Labels

__all__ = [
    "DEALERS",
    "Dealer",
    "DealerOutbound",
    "DealerPayload",
    "HappyTalkDealer",
    "KakaoDealerChannel",
    "Labels",
    "dealer_from_env",
    "kakao_length",
    "split_text",
]
