"""The HTTP floor: a trivial FastAPI app on uvicorn, served as ``ordergate serve`` serves (uvloop,
httptools, no access log), answering the CrossTrade place and cancel routes without doing
anything. What the same client gets from it is what HTTP alone allows on this machine.

    .venv/bin/python bench/floor_app.py --port 8100
"""

from __future__ import annotations

import argparse
import uuid

import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

app = FastAPI()


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@app.get("/healthz")
async def healthz() -> Response:
    return _json({"status": "ok", "database": "ok"})


@app.post("/v1/api/accounts/{account}/orders/place")
async def place(account: str, request: Request) -> Response:
    orjson.loads(await request.body())
    return _json({"orderId": uuid.uuid4().hex, "success": True})


@app.post("/v1/api/accounts/{account}/orders/{order_id}/cancel")
async def cancel(account: str, order_id: str, request: Request) -> Response:
    orjson.loads(await request.body())
    return _json({"orderId": order_id, "success": True})


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
