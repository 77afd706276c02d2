"""The Viber emulator and its simulated users, for tests, benchmarks and the demo.

See `byoc_viber.testing.emulator` for the API it serves and its control endpoints.
"""

from .callbacks import DEFAULT_RETRY_SCHEDULE, CallbackRecord
from .emulator import ALL_EVENT_TYPES, MANDATORY_EVENT_TYPES, Fault, ViberEmulator
from .users import SentMessage, SimulatedUser
from .validation import validate_message

__all__ = [
    "ALL_EVENT_TYPES",
    "DEFAULT_RETRY_SCHEDULE",
    "MANDATORY_EVENT_TYPES",
    "CallbackRecord",
    "Fault",
    "SentMessage",
    "SimulatedUser",
    "ViberEmulator",
    "validate_message",
]
