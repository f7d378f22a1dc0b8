"""Which of a shop's sources the gate checks.

A shop may feed only its database (no clickstream yet), only a clickstream, or both, and may
add files (ingest:files) and REST APIs (ingest:api). The database is the shop's MariaDB or
Postgres, either captured by CDC into the same raw_shop change log. A source
is *expected* when the configuration names it (GATE_SOURCES, from lib/config/schema.ts) or
when it has ever landed anything: a source that had data and goes silent must still fail
(its suite's "not empty" and timeliness checks do that), while a source the shop never had
must not withhold every report. Suites that check one source only are skipped when that
source is not expected; every other suite always runs.

The raw gate (role transformer) sees the raw tables and the ingestors' positions; the marts
gate (role bi_reader) sees only `marts`, so it reads what landed from ops_source_freshness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The list's one home is lib/config/schema.ts GATE_SOURCE_NAMES (tests/great_expectations/sources.test.ts compares).
SOURCE_NAMES = ("database", "clickstream", "files", "api")

# The suites that check one source only, by source.
SOURCE_SUITES = {
    "database": {"raw_shop_orders", "raw_shop_ranges", "marts_fct_orders"},
    "clickstream": {"raw_shop_events", "raw_shop_events_window", "marts_conversion_funnel_daily"},
    "files": {"raw_files"},
    "api": {"raw_api_records"},
}

# One query per gate: a row with <source>_landed for each source. Raw is append-only, and an
# ingestor records its position in the same transaction as its rows, so either is proof that
# the source has landed, even after raw rows were archived.
LANDED_QUERIES = {
    "raw": """
select
    exists (select 1 from ingest.cdc_positions)
        -- The CDC ingestor creates a raw_shop table in the transaction of the first rows it holds.
        or exists (select 1 from pg_class where relnamespace = 'raw_shop'::regnamespace and relkind = 'r')
        as database_landed,
    -- case, not or: the whole log is asked last, so a gate that checks only new load days
    -- does not open the oldest partition to learn that something once landed.
    case
        when exists (select 1 from ingest.kafka_offsets) then true
        when exists (select 1 from raw.shop_events where _loaded_at >= now() - interval '1 day') then true
        else exists (select 1 from raw.shop_events)
    end as clickstream_landed,
    -- Each file version and each API page commit with their manifest row and cursor.
    exists (select 1 from raw.file_manifest) as files_landed,
    exists (select 1 from ingest.api_cursors) or exists (select 1 from raw.api_records) as api_landed
""",
    "marts": """
select
    coalesce(bool_or(left(source_table, 9) = 'raw_shop.' and row_count > 0), false) as database_landed,
    coalesce(bool_or(source_table = 'raw.shop_events' and row_count > 0), false) as clickstream_landed,
    -- No marts suite is about files or APIs: the marts gate neither checks nor skips anything for them.
    false as files_landed,
    false as api_landed
from marts.ops_source_freshness
""",
}


@dataclass(frozen=True)
class SourceStatus:
    source: str
    configured: bool
    # None when it could not be determined (then the source counts as expected).
    landed: bool | None

    @property
    def expected(self) -> bool:
        return self.configured or self.landed is not False

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "configured": self.configured, "landed": self.landed, "checked": self.expected}


def parse_configured(value: str | None) -> set[str]:
    """GATE_SOURCES as set by runGate: a comma list, or "none". Unset means every source
    (the configuration's default), so running the script by hand checks everything."""
    if value is None:
        return set(SOURCE_NAMES)
    names = {n.strip() for n in value.split(",") if n.strip() and n.strip() != "none"}
    unknown = names - set(SOURCE_NAMES)
    if unknown:
        raise ValueError(f"GATE_SOURCES: unknown source(s) {sorted(unknown)}; expected {list(SOURCE_NAMES)} or none")
    return names


def landed_sources(url: str, gate: str) -> tuple[dict[str, bool | None], str | None]:
    """Which sources have ever landed, and the reason when that could not be read (a missing
    freshness mart, say): then every source counts as landed, the conservative answer."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as connection:
            row = connection.execute(sa.text(LANDED_QUERIES[gate])).one()
            return {name: bool(getattr(row, f"{name}_landed")) for name in SOURCE_NAMES}, None
    except Exception as error:  # noqa: BLE001 - unknown means "check it", never "skip it"
        first_line = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return {name: None for name in SOURCE_NAMES}, first_line[:200]
    finally:
        engine.dispose()


def source_statuses(configured: set[str], landed: dict[str, bool | None]) -> list[SourceStatus]:
    return [SourceStatus(name, name in configured, landed.get(name)) for name in SOURCE_NAMES]


def skipped_suites(statuses: list[SourceStatus]) -> set[str]:
    return {suite for status in statuses if not status.expected for suite in SOURCE_SUITES[status.source]}


def no_source_failure(gate: str, statuses: list[SourceStatus]) -> dict[str, Any] | None:
    """A gate with no source to check has nothing to vouch for: that is a failure, not a pass."""
    if any(status.expected for status in statuses):
        return None
    return {
        "suite": f"{gate}_sources",
        "expectation": "sources: at least one source is configured (GATE_SOURCES) or has landed data",
        "details": "GATE_SOURCES is none and no source (database, clickstream, files, api) has ever landed a row",
    }
