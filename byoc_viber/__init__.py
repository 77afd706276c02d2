"""Viber channel plugin for byoc.

```python
from byoc_viber import ViberChannel

viber = ViberChannel(auth_token="445da6az...", sender_name="Acme Support")
```

The bundled emulator lives in `byoc_viber.testing`.
"""

from .api import DEFAULT_API_URL, AccountInfo, ViberApi
from .channel import DEFAULT_EVENT_TYPES, EVENT_TYPES, ViberChannel
from .outbound import Mapped, Sender, map_message, split_text
from .signature import SIGNATURE_HEADER, sign, verify_signature

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_EVENT_TYPES",
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "AccountInfo",
    "Mapped",
    "Sender",
    "ViberApi",
    "ViberChannel",
    "map_message",
    "sign",
    "split_text",
    "verify_signature",
]
