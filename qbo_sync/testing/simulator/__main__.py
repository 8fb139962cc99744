"""``python -m qbo_sync.testing.simulator``: serve the QBO simulator over HTTP.

Prints the base URL, the US company's realm id and an access token for it, then serves
until Ctrl-C. See ``qbo_sync/testing/README.md`` for a curl session.
"""

from __future__ import annotations

import argparse
import sys

from .app import Simulator
from .companies import US_REALM
from .server import make_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qbo_sync.testing.simulator",
                                     description="Serve the offline QuickBooks Online simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--state", metavar="FILE",
                        help="JSON file that keeps companies and tokens across restarts")
    parser.add_argument("--latency", type=float, default=0.0, metavar="S",
                        help="seconds added to every API call")
    parser.add_argument("--webhook-url", help="where to POST webhook notifications")
    parser.add_argument("--webhook-format", choices=("legacy", "cloudevents"),
                        default="cloudevents")
    parser.add_argument("--webhook-verifier", default="simulator-verifier-token",
                        help="verifier token used to sign webhooks (intuit-signature)")
    args = parser.parse_args(argv)

    sim = Simulator(state_file=args.state, latency=args.latency, webhook_url=args.webhook_url,
                    webhook_format=args.webhook_format, webhook_verifier=args.webhook_verifier)
    try:
        server = make_server(sim, args.host, args.port)
    except OSError as exc:
        print(f"Cannot listen on {args.host}:{args.port}: {exc}. "
              "Pick another port with --port.", file=sys.stderr)
        return 2
    tokens = sim.issue_tokens(US_REALM)
    if args.state:
        sim.save_state()  # keep the token just printed valid across a restart
    print(f"QBO simulator listening on {server.base_url}", flush=True)
    print(f"  US realm id:    {US_REALM}")
    print(f"  access token:   {tokens['access_token']}")
    print(f"  refresh token:  {tokens['refresh_token']}")
    print("  OAuth client:   simulator-client-id / simulator-client-secret")
    print(f"  control plane:  {server.base_url}/_sim/")
    print("Ctrl-C to stop.", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("\nStopping.")
    finally:
        server.server_close()
        sim.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
