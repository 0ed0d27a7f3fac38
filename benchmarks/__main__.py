"""All benchmarks, one command: python -m benchmarks [--quick]

Calendar arithmetic side by side with businesstimedelta, pandas and workclock; then full case
evaluations, memory per case and sync cycles on the embedded tracker; then the notifications a first run
on a tracker full of history sends, against what adoption allows; then the Zendesk connector's API calls
against the fewest possible, and a large backfill under a rate limit; then the API calls a sync cycle
costs on a (fake) Jira site, Cloud and Data Center, against the fewest it could cost.
"""

from __future__ import annotations

import sys

from benchmarks import bench_adoption, bench_calendar, bench_jira, bench_sync, bench_zendesk


def main() -> None:
    quick = ["--quick"] if "--quick" in sys.argv[1:] else []
    bench_calendar.main(quick)
    print()
    sys.argv = [sys.argv[0], *quick]
    bench_sync.main()
    print()
    bench_adoption.main()
    print()
    bench_zendesk.main()
    print()
    bench_jira.main(quick)


if __name__ == "__main__":
    main()
