"""The job's settings: one JSON object the TypeScript side builds (lib/lakehouse/settings.ts)."""

from __future__ import annotations

import json
import os
from typing import Any

ENV_NAME = "SHOPFLOW_LAKE_SETTINGS"


def load() -> dict[str, Any]:
    text = os.environ.get(ENV_NAME)
    if not text:
        raise SystemExit(f"{ENV_NAME} is not set: start the lakehouse jobs with `npm run lake`, which builds it from the configuration")
    return json.loads(text)
