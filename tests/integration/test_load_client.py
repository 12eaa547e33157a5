"""The benchmark's load client reads real HTTP/1.1 responses whole, from a real server on loopback."""

from __future__ import annotations

import asyncio
import gzip
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.load import Client, FailedRequests, Reply, fetch, run_load
from benchmarks.servers import free_port, http_server

FIXED = bytes(range(256)) * 400  # 100 KiB, more than one read of the stream
PARTS = [b"first part|", b"x" * 70_000, b"|last part"]
PAGE = "<p>Réponse</p>" * 1000

APP = f"""
import asyncio, gzip

FIXED = {FIXED!r}
PARTS = {PARTS!r}
PAGE = {PAGE.encode()!r}


async def read_body(receive):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    path, headers = scope["path"], dict(scope["headers"])
    port = str(scope["client"][1]).encode()
    extra = [(b"x-client-port", port)]
    if path == "/chunked":
        await send({{"type": "http.response.start", "status": 200, "headers": extra}})
        for part in PARTS:
            await send({{"type": "http.response.body", "body": part, "more_body": True}})
        await send({{"type": "http.response.body", "body": b""}})
        return
    status, body = 200, b"ok"
    if path == "/fixed":
        body = FIXED
    elif path == "/echo":
        body = await read_body(receive)
        extra += [
            (b"x-method", scope["method"].encode()),
            (b"x-content-type", headers.get(b"content-type", b"")),
        ]
    elif path == "/gzip":
        body = gzip.compress(PAGE)
        asked = headers.get(b"accept-encoding", b"")
        extra += [(b"content-encoding", b"gzip"), (b"x-accept-encoding", asked)]
    elif path == "/close":
        extra += [(b"connection", b"close")]
    elif path == "/cookie/set":
        extra += [(b"set-cookie", b"followup_csrf=signed-value; HttpOnly; Path=/cookie; SameSite=strict")]
    elif path.startswith("/cookie") or path == "/outside":
        body = headers.get(b"cookie", b"(none)")
    elif path == "/slow":
        await asyncio.sleep(0.3)
    elif path == "/missing":
        status, body = 404, b"not here"
    headers_out = [(b"content-length", str(len(body)).encode()), *extra]
    await send({{"type": "http.response.start", "status": status, "headers": headers_out}})
    await send({{"type": "http.response.body", "body": body}})
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A tiny ASGI app served by uvicorn on a free loopback port, in a process of its own."""
    home = tmp_path_factory.mktemp("load_app")
    (home / "load_app.py").write_text(APP)
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "load_app:app", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--log-level", "warning", "--no-access-log"]
    env = {**os.environ, "PYTHONPATH": str(home)}
    with http_server(argv, port, env, Path(home) / "uvicorn.log") as url:
        yield url


async def _kept(client: Client, path: str) -> Reply:
    return await client.get(path, keep_body=True)


def _one(base: str, path: str) -> Reply:
    return run_load(base, [path], _kept, clients=1).outcomes[0].reply


def test_a_content_length_body_is_read_whole(base: str) -> None:
    reply = _one(base, "/fixed")

    assert reply.status == 200
    assert reply.body == FIXED
    assert reply.size == len(FIXED)
    assert reply.ms > 0


def test_a_chunked_body_is_read_whole_and_the_connection_stays_usable(base: str) -> None:
    load = run_load(base, ["/chunked", "/chunked", "/fixed"], _kept, clients=1)

    chunked = [outcome.reply for outcome in load.outcomes if outcome.job == "/chunked"]
    assert [reply.body for reply in chunked] == [b"".join(PARTS)] * 2
    assert "chunked" in chunked[0].headers["transfer-encoding"]
    assert load.outcomes[-1].reply.body == FIXED
    assert {outcome.reply.headers["x-client-port"] for outcome in load.outcomes} == {
        load.outcomes[0].reply.headers["x-client-port"]
    }


def test_a_body_is_not_kept_unless_asked_but_its_size_is(base: str) -> None:
    reply = run_load(base, ["/fixed"], fetch, clients=1).outcomes[0].reply

    assert reply.body == b""
    assert reply.size == len(FIXED)


def test_a_posted_form_arrives_at_the_server_url_encoded(base: str) -> None:
    form = {"csrf": "a/b+c=", "narrative-7": "Done — on time & on budget", "action": "submit"}

    async def post(client: Client, path: str) -> Reply:
        return await client.post(path, form, keep_body=True)

    reply = run_load(base, ["/echo"], post, clients=1).outcomes[0].reply

    assert reply.headers["x-method"] == "POST"
    assert reply.headers["x-content-type"] == "application/x-www-form-urlencoded"
    assert reply.body == (b"csrf=a%2Fb%2Bc%3D&narrative-7=Done+%E2%80%94+on+time+%26+on+budget&action=submit")


def test_a_gzipped_page_is_asked_for_kept_as_sent_and_read_decompressed(base: str) -> None:
    reply = _one(base, "/gzip")

    assert reply.headers["x-accept-encoding"] == "gzip"
    assert reply.headers["content-encoding"] == "gzip"
    assert gzip.decompress(reply.body) == PAGE.encode()
    assert reply.size == len(reply.body) < len(PAGE.encode())
    assert reply.text() == PAGE


def test_the_cookie_a_page_sets_goes_back_only_under_its_path(base: str) -> None:
    async def visit(client: Client, path: str) -> Reply:
        await client.get("/cookie/set")
        outside = await client.get("/outside", keep_body=True)
        inside = await client.get(path, keep_body=True)
        assert outside.body == b"(none)"
        return inside

    reply = run_load(base, ["/cookie/echo"], visit, clients=1).outcomes[0].reply

    assert reply.body == b"followup_csrf=signed-value"


def test_each_client_has_its_own_cookies(base: str) -> None:
    async def ask(client: Client, path: str) -> Reply:
        return await client.get(path, keep_body=True)

    async def both() -> tuple[Reply, Reply]:
        first, second = Client(base), Client(base)
        try:
            await first.get("/cookie/set")
            return await ask(first, "/cookie/echo"), await ask(second, "/cookie/echo")
        finally:
            await first.close()
            await second.close()

    with_cookie, without = asyncio.run(both())

    assert with_cookie.body == b"followup_csrf=signed-value"
    assert without.body == b"(none)"


def test_a_client_reconnects_after_the_server_says_connection_close(base: str) -> None:
    load = run_load(base, ["/close", "/close", "/fixed"], _kept, clients=1)

    ports = [outcome.reply.headers["x-client-port"] for outcome in load.outcomes]
    assert [outcome.reply.status for outcome in load.outcomes] == [200, 200, 200]
    assert len(set(ports)) == 3
    assert load.outcomes[-1].reply.body == FIXED


def test_a_run_counts_every_request_and_reports_latency_percentiles_and_throughput(base: str) -> None:
    load = run_load(base, ["/fixed"] * 37, fetch, clients=5)
    summary = load.summary()

    assert set(summary) == {"requests", "p50_ms", "p95_ms", "throughput_rps", "wall_s"}
    assert summary["requests"] == 37 == len(load.outcomes)
    assert 0 < summary["p50_ms"] <= summary["p95_ms"] <= max(outcome.ms for outcome in load.outcomes)
    assert summary["wall_s"] == load.wall_s > 0
    assert summary["throughput_rps"] == pytest.approx(37 / load.wall_s)
    assert len({outcome.reply.headers["x-client-port"] for outcome in load.outcomes}) == 5


def test_the_wall_clock_cap_stops_clients_taking_new_jobs(base: str) -> None:
    load = run_load(base, ["/slow"] * 10, fetch, clients=2, cap_s=0.1)

    assert len(load.outcomes) == 2
    assert load.summary()["requests"] == 2


def test_a_client_error_makes_the_run_raise(base: str) -> None:
    with pytest.raises(FailedRequests, match=r"1 of 4 requests failed, e\.g\. \['404 /missing'\]"):
        run_load(base, ["/fixed", "/missing", "/chunked", "/fixed"], fetch, clients=2)
