"""The `tailor` command: `tailor serve` (the local endpoint) and `tailor demo` (the walkthrough)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from tailor.local.server import DEFAULT_HOST, DEFAULT_PORT, HEALTH_PATH


def _serve(args: argparse.Namespace) -> int:
    from tailor.local.server import LocalServer

    server = LocalServer(args.host, args.port)
    print(f"Tailor is serving Personalize (personalize, personalize-runtime, personalize-events), S3 and CloudWatch "
          f"at {server.endpoint}", flush=True)
    print(f"  export AWS_ENDPOINT_URL={server.endpoint}   # readiness probe: GET {server.endpoint}{HEALTH_PATH}",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tailor.local.demo import run_demo

    return run_demo(port=args.port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tailor", description="A self-hosted, wire-compatible Amazon Personalize")
    parser.add_argument("--verbose", "-v", action="store_true", help="log what the service does")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the Personalize APIs, S3 and CloudWatch locally (moto underneath)")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"interface to bind (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    serve.set_defaults(func=_serve)
    demo = sub.add_parser("demo", help="run the Personalize walkthrough against a local endpoint")
    demo.add_argument("--port", type=int, default=0, help="port for the demo's endpoint (default: any free)")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    # The Lambda handlers log JSON through Powertools; locally that is noise unless asked for.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", logging.getLevelName(level))
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(level)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
