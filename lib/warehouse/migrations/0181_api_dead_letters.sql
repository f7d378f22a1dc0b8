-- The REST puller (ingest/api, docs/api.md) keeps its bad records as dead letters too.
-- The list is lib/warehouse/dead-letter-sources.ts; a contract test compares them.
alter table raw.dead_letters drop constraint if exists dead_letters_source_check;
alter table raw.dead_letters add constraint dead_letters_source_check check (source in ('kafka', 'cdc', 'files', 'api'));
