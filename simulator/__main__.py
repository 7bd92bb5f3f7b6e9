"""`python -m simulator ...`: drive the simulated app from a terminal."""

import sys

from simulator.cli import main

sys.exit(main())
