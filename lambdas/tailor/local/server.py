"""`tailor serve`: one HTTP endpoint for the Personalize APIs, S3 and CloudWatch (moto), on loopback by default."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from tailor.local.embedded import MOTO_LOCK, EmbeddedTailor
from tailor.protocol.http import HttpRequest, is_personalize_request

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
HEALTH_PATH = "/_tailor/health"  # '_' cannot start a bucket name, so this never shadows S3
RESET_PATH = "/_tailor/reset"


class LocalApp:
    """WSGI app: Personalize requests go to Tailor's handlers, everything else to moto (S3, CloudWatch, IAM, ...)."""

    def __init__(self, tailor: EmbeddedTailor) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app

        self.tailor = tailor
        self._moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == HEALTH_PATH:
            return Response(json.dumps({"status": "ready"}), 200, mimetype="application/json")(
                environ, start_response)
        if request.path == RESET_PATH and request.method == "POST":
            self.tailor.reset()
            return Response(json.dumps({"status": "reset"}), 200, mimetype="application/json")(
                environ, start_response)
        headers = {k: v for k, v in request.headers.items()}
        probe = HttpRequest(request.method, request.path, headers)
        if is_personalize_request(probe):
            body = request.get_data(cache=False)
            result = self.tailor.handle(request.method, request.path, headers, body)
            return Response(result.body, result.status, headers=result.headers)(environ, start_response)
        with MOTO_LOCK:  # S3 and CloudWatch requests run inside moto too; materialise the body while holding the lock
            return list(self._moto(environ, start_response))


class LocalServer:
    """A threaded server you can start and stop (used by `tailor serve`, the demo and the tests)."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 tailor: EmbeddedTailor | None = None) -> None:
        self.tailor = tailor or EmbeddedTailor(aws_managed_policies=True)
        self.app = LocalApp(self.tailor)
        self._server: BaseWSGIServer = make_server(host, port, self.app, threaded=True)
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def start(self) -> LocalServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="tailor-serve")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self.tailor.stop()
