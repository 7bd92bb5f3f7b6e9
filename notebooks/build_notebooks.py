"""Generate the teaching notebooks with outputs stripped.

    python notebooks/build_notebooks.py          # rewrite notebooks/*.ipynb
    python notebooks/build_notebooks.py --check  # exit 1 if a notebook differs from this script

The notebooks are written from Python (`notebook_builder/`: the shared cells and one module per
notebook) so that a review reads plain Python and Markdown. Each notebook starts the reference
server in-process (werkzeug `make_server` on a free port, SQLite in a temporary directory), drives
the device simulator over real HTTP, shows the real messages, draws the sequence of the exchanges
it made and stops the server at the end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from notebook_builder import NOTEBOOKS, render

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, do not write")
    parser.add_argument("--out", type=Path, default=HERE, help="directory for the notebooks")
    args = parser.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = args.out / name
        text = render(cells) + "\n"
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
            continue
        path.write_text(text)
        print("wrote", path)
    if stale:
        print("out of date (run notebooks/build_notebooks.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
