"""What a test does when something it needs is missing (a dataset, a tool): it says so and is reported
SKIPPED through CTest's SKIP_RETURN_CODE (77), never silently passed or left out; under CI (the CI
environment variable set) a missing prerequisite of a required test is a failure instead.
"""

import os
import sys

SKIP_RETURN_CODE = 77


def require(ok, reason):
    """Returns when `ok`; otherwise prints `reason` and exits 77 (skipped), or 1 under CI."""
    if ok:
        return
    if os.environ.get('CI'):
        print(f'FAILED: required under CI: {reason}', flush=True)
        sys.exit(1)
    print(f'SKIPPED: {reason}', flush=True)
    sys.exit(SKIP_RETURN_CODE)


def require_files(paths, what):
    """require() that every path exists; `what` says where they come from."""
    missing = [p for p in paths if not os.path.exists(p)]
    require(not missing, f'{", ".join(missing)} missing ({what})')
