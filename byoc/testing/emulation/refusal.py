"""The error an emulator's route raises to answer a call with a refusal instead."""

from __future__ import annotations

import abc

from ..routing import Response

__all__ = ["Refusal"]


class Refusal(Exception, metaclass=abc.ABCMeta):
    """A refusal the shared routes can answer with; each emulator renders it in its wire format."""

    @abc.abstractmethod
    def response(self) -> Response:
        """The HTTP answer, in the shape the emulated service gives this refusal."""
