"""`python -m reference`: serve the reference server, or administer it.

python -m reference serve [--host 127.0.0.1] [--port 8000]
python -m reference rotate-keys
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from werkzeug.serving import run_simple

from reference.app import build_context, create_app
from reference.config import AppConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reference", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server (SQLite unless MIA_DATABASE_URL)")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    commands.add_parser(
        "rotate-keys", help="make a new signing key active; old ones stay published"
    )
    args = parser.parse_args(argv)

    if args.command == "rotate-keys":
        ctx = build_context(AppConfig.from_env())
        key = ctx.keyring.rotate()
        print(f"new signing key {key.kid} is active; previous keys stay published")
        return 0
    os.environ.setdefault("PORT", str(args.port))
    app = create_app()
    issuer = app.extensions["mia"].settings.issuer
    print(
        f"MIA reference server on {issuer} (database: {app.extensions['mia_config'].database_url})",
        file=sys.stderr,
    )
    # The server writes its own structured request log; the development server's would repeat it.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
