import httpx

from byoc.testing.routing import Request, Response, Router, json_response


async def test_router_dispatches_path_params_and_answers_404_405() -> None:
    router = Router()

    @router.route("GET", "/v2/users/{user_id}")
    async def get_user(request: Request) -> Response:
        return json_response({"id": request.params["user_id"], "q": request.query})

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=router), base_url="http://t"
    ) as c:
        ok = await c.get("/v2/users/abc?x=1")
        assert ok.json() == {"id": "abc", "q": {"x": "1"}}
        assert (await c.post("/v2/users/abc")).status_code == 405
        assert (await c.get("/nope")).status_code == 404


async def test_405_answer_can_take_the_service_shape() -> None:
    router = Router(method_not_allowed=lambda r: json_response({"code": 405, "m": r.method}, 405))

    @router.route("GET", "/x")
    async def x(request: Request) -> Response:
        return json_response({})

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=router), base_url="http://t"
    ) as c:
        assert (await c.delete("/x")).json() == {"code": 405, "m": "DELETE"}
