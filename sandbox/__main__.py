"""``python3 -m sandbox --host 127.0.0.1 --port 8765 [--seed FILE.json]
[--amazon-port eu=8767 ...]``.

Logs the main URL ("listening on ...") and then one SP-API URL per Amazon
region ("Amazon SP-API region eu at ..."); the main URL serves everything
and counts as the na host.
"""

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
    parser.add_argument(
        "--amazon-port",
        action="append",
        default=[],
        metavar="REGION=PORT",
        help="port of an Amazon region's SP-API host (na, eu, fe; default: any "
        "free port); repeatable",
    )
    return parser.parse_args(argv)


def region_ports(values):
    """``["eu=8767"]`` -> ``{"eu": 8767}``; ValueError when malformed."""
    ports = {}
    for value in values:
        region, sep, port = value.partition("=")
        if not sep or not port.isdigit():
            raise ValueError(f"--amazon-port wants REGION=PORT, got {value!r}")
        ports[region] = int(port)
    return ports


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s"
    )
    try:
        server = SandboxServer(
            args.host,
            args.port,
            token_ttl=args.token_ttl,
            amazon_region_ports=region_ports(args.amazon_port),
        )
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
