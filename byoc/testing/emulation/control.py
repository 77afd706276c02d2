"""The `/_emulator` control routes every help-desk emulator has: the token guard, faults, calls.

Each emulator adds its own routes through `ControlRoutes.route` and these shared ones with
`add_fault_routes` and `add_call_routes`; the answers are encoded by the emulator (`respond`)
and refusals rendered in its error shape (`invalid`, `unauthorized`), so the wire stays its own.

- `GET /_emulator/faults`: `{"faults": [{..., "remaining"}], "webhook_copies"}`.
- `POST /_emulator/faults` with a fault (`Fault.to_json()`) or
  `{"kind": "duplicate_webhooks", "copies": k}`: arm it; answers as GET.
- `DELETE /_emulator/faults`: clear every fault; `POST /_emulator/faults/release`: end the
  hangs in progress; both answer as GET.
- `GET /_emulator/calls`: `{"calls": [{"method", "route", "count"}], "total"}`;
  `DELETE /_emulator/calls` resets the counts and answers as GET.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import attrs

from ..routing import Request, Response, Router
from .faults import Fault, FaultSet
from .refusal import Refusal

__all__ = ["ControlRoutes", "Controlled", "Handler"]

Handler = Callable[[Request], Awaitable[Response]]


class Controlled(Protocol):
    """What the shared control routes drive of an emulator."""

    @property
    def control_token(self) -> str | None: ...

    @property
    def faults(self) -> FaultSet: ...

    @property
    def calls(self) -> Mapping[tuple[str, str], int]: ...

    def total_calls(self) -> int: ...

    def reset_calls(self) -> None: ...


@attrs.frozen
class ControlRoutes:
    """Registers guarded `/_emulator` routes of `emulator` on `router`.

    `respond` encodes a JSON answer as the emulator does, `invalid` is its refusal of a bad
    control body, and `unauthorized` its answer to a missing or wrong control token.
    """

    router: Router
    emulator: Controlled
    respond: Callable[[Any], Response]
    invalid: Callable[[str], Refusal]
    unauthorized: Refusal

    def route(self, method: str, pattern: str) -> Callable[[Handler], None]:
        """A decorator: serve `handler` at `method pattern` behind the control token.

        A `Refusal` the handler raises is answered with its response.
        """

        def register(handler: Handler) -> None:
            async def guarded(request: Request) -> Response:
                if not self._authorized(request):
                    return self.unauthorized.response()
                try:
                    return await handler(request)
                except Refusal as refusal:
                    return refusal.response()

            self.router.route(method, pattern)(guarded)

        return register

    def _authorized(self, request: Request) -> bool:
        token = self.emulator.control_token
        if token is None:
            return True
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode("utf-8", "surrogateescape"), token.encode()
        )

    def add_fault_routes(
        self,
        body: Callable[[Request], dict[str, Any]],
        parse: Callable[[Mapping[str, Any]], Fault],
    ) -> None:
        """The `/_emulator/faults` routes; `body` reads a request's JSON, `parse` a fault."""
        faults = self.emulator.faults

        def faults_state() -> Response:
            return self.respond(
                {
                    "faults": [
                        {**fault.to_json(), "remaining": remaining}
                        for fault, remaining in faults.active
                    ],
                    "webhook_copies": faults.webhook_copies,
                }
            )

        @self.route("GET", "/_emulator/faults")
        async def get_faults(request: Request) -> Response:
            return faults_state()

        @self.route("POST", "/_emulator/faults")
        async def add_fault(request: Request) -> Response:
            fields = body(request)
            try:
                if fields.get("kind") == "duplicate_webhooks":
                    copies = fields.get("copies")
                    if not isinstance(copies, int) or isinstance(copies, bool):
                        raise ValueError("copies must be an integer")
                    faults.duplicate_webhooks(copies)
                else:
                    faults.add(parse(fields))
            except (ValueError, TypeError) as exc:
                raise self.invalid(str(exc)) from exc
            return faults_state()

        @self.route("DELETE", "/_emulator/faults")
        async def clear_faults(request: Request) -> Response:
            faults.clear()
            return faults_state()

        @self.route("POST", "/_emulator/faults/release")
        async def release_hangs(request: Request) -> Response:
            faults.release()
            return faults_state()

    def add_call_routes(self) -> None:
        """The `/_emulator/calls` routes: the API calls counted by method and route."""
        emulator = self.emulator

        def calls_state() -> Response:
            counts = [
                {"method": method, "route": route, "count": count}
                for (method, route), count in sorted(emulator.calls.items())
            ]
            return self.respond({"calls": counts, "total": emulator.total_calls()})

        @self.route("GET", "/_emulator/calls")
        async def get_calls(request: Request) -> Response:
            return calls_state()

        @self.route("DELETE", "/_emulator/calls")
        async def reset_calls(request: Request) -> Response:
            emulator.reset_calls()
            return calls_state()
