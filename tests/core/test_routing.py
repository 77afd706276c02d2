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
