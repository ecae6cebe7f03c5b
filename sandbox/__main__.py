"""``python3 -m sandbox --host 127.0.0.1 --port 8765 [--seed FILE.json]``."""

import argparse
import json
import logging
import signal
import sys

from .server import SandboxServer


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python3 -m sandbox",
        description="Local Amazon SP-API / eBay marketplace sandbox (loopback only).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=8765, help="0 = any free port")
    parser.add_argument(
        "--seed",
        metavar="FILE.json",
        help='{"amazon_orders": [...], "ebay_orders": [...], "catalog": [...]}',
    )
    parser.add_argument(
        "--token-ttl", type=int, default=None, help="access-token lifetime (seconds)"
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s"
    )
    try:
        server = SandboxServer(args.host, args.port, token_ttl=args.token_ttl)
    except ValueError as exc:
        logging.getLogger("sandbox").error("%s", exc)
        return 2
    # Stop cleanly on SIGTERM too (scripts stop the demo with ``kill``).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    if args.seed:
        with open(args.seed, encoding="utf-8") as seed_file:
            server.seed(json.load(seed_file))
    server.serve_until_interrupted()
    return 0


if __name__ == "__main__":
    sys.exit(main())
