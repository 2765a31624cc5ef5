"""How the Python tests skip: exit 77 (CTest's SKIP_RETURN_CODE), except in CI
(BACKPROP_NO_SKIP set, as .ci/run sets it), where a skip is a failure unless the test says
why it may skip there (ci_reason)."""
import os
import sys


def skip(reason, ci_reason=None):
    if os.environ.get("BACKPROP_NO_SKIP") and not ci_reason:
        print(f"FAILED: would skip ({reason}), and a skip in CI is a failure (BACKPROP_NO_SKIP is set)")
        sys.exit(1)
    print(f"{reason}: skipped" + (f" (may skip in CI: {ci_reason})" if ci_reason else ""))
    sys.exit(77)
