"""MIA conformance suite: proves that a server under test follows the MIA protocol specification.

Checks are grouped by spec chapter in `conformance.checks`, each cites the spec section it proves
and reports PASSED, FAILED, WARNING or SKIPPED. Run it with `python -m conformance --target URL`.
"""

from conformance.registry import check
from conformance.results import CheckFailed, CheckSkipped, CheckWarning, Outcome

__all__ = ["CheckFailed", "CheckSkipped", "CheckWarning", "Outcome", "check"]
