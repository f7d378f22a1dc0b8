-- The REST puller (ingest/api, docs/api.md): one row per version of a record an API served, and
-- each source's updated-at cursor. A page's rows and the cursor they advance to commit in one
-- transaction; the pull after a crash starts again at the committed cursor (inclusive), and the
-- unique key below drops the records it had already landed.

create table if not exists raw.api_records (
    api_record_id   bigint      generated always as identity primary key,
    source_name     text        not null,
    -- The record's key values as a JSON array (text): one string whatever the key's shape.
    record_key      text        not null,
    -- The record's updated-at as the API wrote it, and as an instant for ordering.
    updated_at      timestamptz not null,
    record          jsonb       not null,
    -- SHA-256 of the record's canonical JSON: a record re-served unchanged at the cursor is the
    -- same row; one changed without a new updated-at (a buggy API) is kept as another.
    record_sha256   text        not null check (record_sha256 ~ '^[0-9a-f]{64}$'),
    _loaded_at      timestamptz not null default now(),
    unique (source_name, record_key, updated_at, record_sha256)
);
create index if not exists api_records_loaded_at_idx on raw.api_records (_loaded_at);

create table if not exists ingest.api_cursors (
    source_name     text        primary key,
    -- The greatest updated-at landed so far, as the API wrote it (sent back as updated_since).
    cursor_value    text        not null,
    cursor_at       timestamptz not null,
    records_landed  bigint      not null default 0,
    updated_at      timestamptz not null default now()
);

-- Raw is append-only (0090): ingest_writer appends and reads; the cursor table is its own.
revoke all on raw.api_records, ingest.api_cursors from bi_reader;
revoke update, delete, truncate, references, trigger on raw.api_records from ingest_writer;
grant select, insert on raw.api_records to ingest_writer;
grant select, insert, update on ingest.api_cursors to ingest_writer;
grant select on raw.api_records, ingest.api_cursors to transformer;

-- A bad record re-served at the cursor after a crash is one dead letter, not two: its position
-- names the source and the SHA-256 of its exact bytes.
create unique index if not exists dead_letters_api_position_uq on raw.dead_letters (source_position) where source = 'api';
