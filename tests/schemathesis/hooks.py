"""schemathesis hooks of tests/schemathesis/run.sh: counts the statuses the server answered and,
when the run ends, prints them and writes them per operation of the document into the file
SCHEMATHESIS_STATUSES names (a request with a method the operation lacks, answered 405, counts
for that operation)."""

import atexit
import collections
import json
import os
import threading

import schemathesis

_lock = threading.Lock()
_statuses = collections.Counter()
_operations = collections.defaultdict(collections.Counter)


@schemathesis.hook
def after_call(context, case, response):
    with _lock:
        _statuses[response.status_code] += 1
        _operations[case.operation.label][response.status_code] += 1


def _report():
    total = sum(_statuses.values())
    seen = ", ".join(f"{status} × {count}" for status, count in sorted(_statuses.items()))
    print(f"schemathesis: {total} requests over {len(_operations)} operations; statuses seen: {seen}")
    path = os.environ.get("SCHEMATHESIS_STATUSES")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            report = {
                "requests": total,
                "statuses": {str(k): v for k, v in sorted(_statuses.items())},
                "operations": {
                    op: {str(k): v for k, v in sorted(counts.items())} for op, counts in sorted(_operations.items())
                },
            }
            json.dump(report, out, indent=1, ensure_ascii=False)


atexit.register(_report)
