"""Decide records read as JSON lines on stdin ({"key": b64|null, "value": b64|null, "timestampMs": n})
and write one verdict per line: what tests/lakehouse/contract.test.ts compares with the
TypeScript ingestor's decisions."""

from __future__ import annotations

import base64
import json
import sys

from . import settings
from .contract import Contract


def main() -> None:
    contract = Contract(settings.load()["contract"])
    for line in sys.stdin:
        record = json.loads(line)
        decode = lambda v: None if v is None else base64.b64decode(v)  # noqa: E731
        verdict = contract.decide(decode(record["key"]), decode(record["value"]), record.get("timestampMs"))
        sys.stdout.write(json.dumps({"ok": verdict.ok, "code": verdict.code, "reason": verdict.reason, "eventTimeUs": verdict.event_time_us}) + "\n")


if __name__ == "__main__":
    main()
