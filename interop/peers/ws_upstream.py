#!/usr/bin/env python3
"""WebSocket echo server for the interop suite, on the `websockets` package, over TLS itself.

The opening handshake must carry one `Authorization: Bearer <JWT>` that passes the same check as
peers/upstream.py (JWKS signature, `typ`, `iss`, `aud`, `exp`/`iat`, --require-scope scopes);
anything else is refused with 401 `WWW-Authenticate: Bearer error="invalid_token"` and a JSON body
naming the reason, and no WebSocket is opened. Once open, every message comes back as it came
(text as text, binary as binary), except two text messages:

- `whoami`: a JSON text message with what the handshake carried: path, header fields (the
  Authorization fields included) and the token's claims, so the suite sees which token
  authenticated it.
- `bye`: the server closes the WebSocket with 1000.

On a path starting `/greet` the server speaks first: `hello <client_id>` right after its 101.

Subprotocol `interop.echo.v1` is accepted when offered; permessage-deflate when the client offers it.

/__admin/stats, /__admin/reset, /__admin/reject_all (plain GETs over the same TLS port, asked by the
suite directly): the handshakes seen (target, status, client_id, jti, reason) and messages echoed.

Prints `LISTENING <port>` on stdout once it accepts connections.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from upstream import JWKS, State, make_validator

SUBPROTOCOL = "interop.echo.v1"
MAX_MESSAGE = 16 * 1024 * 1024


class WSState(State):
    def reset(self):
        super().reset()
        self.messages = 0  # echoed, whoami and bye included
        self.closes = []  # (code, reason) of each finished WebSocket, as the server saw it


STATE = WSState()


def json_response(connection, status: int, payload: dict, extra=()):
    response = connection.respond(status, json.dumps(payload, sort_keys=True) + "\n")
    del response.headers["Content-Type"]  # respond() says text/plain; Headers would add a second one
    response.headers["Content-Type"] = "application/json"
    for name, value in extra:
        response.headers[name] = value
    return response


def make_server(args, jwks: JWKS):
    validate = make_validator(args, jwks, STATE)

    def admin(connection, path: str):
        with STATE.lock:
            if path == "/__admin/stats":
                return json_response(connection, 200, {"requests": STATE.requests, "messages": STATE.messages,
                                                        "closes": STATE.closes, "reject_all": STATE.reject_all})
            if path == "/__admin/reset":
                STATE.reset()
            elif path == "/__admin/reject_all":
                STATE.reject_all = True
            else:
                return json_response(connection, 404, {"error": "no such admin path"})
        return json_response(connection, 200, {"ok": True})

    async def process_request(connection, request):
        if request.path.startswith("/__admin/"):
            return admin(connection, request.path.split("?")[0])
        authorizations = request.headers.get_all("Authorization")
        # The JWKS may have to be fetched again: not on the event loop.
        claims, header, reason = await asyncio.to_thread(validate, authorizations[0] if authorizations else None)
        if len(authorizations) > 1:
            claims, reason = None, f"{len(authorizations)} Authorization fields"
        seen = {
            "target": request.path,
            "headers": [[k, v] for k, v in request.headers.raw_items()],
            "token_valid": claims is not None,
            "token_claims": claims,
            "token_header": header,
            "reject_reason": reason,
        }
        with STATE.lock:
            STATE.requests.append({"t": time.time(), "target": request.path, "status": 101 if claims else 401,
                                   "client_id": (claims or {}).get("client_id"), "jti": (claims or {}).get("jti"),
                                   "reason": reason})
        if claims is None:
            return json_response(connection, 401, seen, [("WWW-Authenticate",
                                 f'Bearer error="invalid_token", error_description="{reason}"'.replace("\n", " "))])
        connection.seen = seen
        return None  # websockets checks the rest of the handshake (Upgrade, key, version) and answers 101

    def select_subprotocol(connection, offered):
        return SUBPROTOCOL if SUBPROTOCOL in offered else None

    async def handler(connection):
        try:
            if connection.request.path.startswith("/greet"):
                await connection.send(f"hello {connection.seen['token_claims'].get('client_id')}")
            async for message in connection:
                with STATE.lock:
                    STATE.messages += 1
                if message == "whoami":
                    await connection.send(json.dumps(connection.seen, sort_keys=True))
                elif message == "bye":
                    await connection.close(1000, "bye")
                else:
                    await connection.send(message)
        except ConnectionClosed:
            pass
        finally:
            with STATE.lock:
                STATE.closes.append([connection.close_code, connection.close_reason])

    return process_request, select_subprotocol, handler


async def run(args):
    jwks = JWKS(args.jwks_url, args.ca_file)
    jwks.get()  # fail at start, not at the first handshake, when the JWKS cannot be had
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    process_request, select_subprotocol, handler = make_server(args, jwks)
    # No keepalive pings: a silent WebSocket stays silent (the tunnel idle case relies on it).
    async with serve(handler, "127.0.0.1", args.port, ssl=context, process_request=process_request,
                     select_subprotocol=select_subprotocol, max_size=MAX_MESSAGE, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"LISTENING {port}", flush=True)
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--jwks-url", required=True)
    parser.add_argument("--ca-file", required=True, help="CA that signed the authorization server")
    parser.add_argument("--require-scope", action="append")
    parser.add_argument("--leeway", type=int, default=1, help="seconds of leeway for exp/iat")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
