-- CDC: which source world the stored position belongs to (docs/cdc.md, "A replaced source"):
-- the server's UUID (MySQL), its GTID domain, and the GTID position at the snapshot's
-- coordinate. On start the ingestor compares them (and the GTID of the last landed transaction)
-- with what the server now has at the stored coordinate; a restore or a reset source stops it
-- with CDC_SOURCE_REPLACED instead of mixing two worlds.
alter table ingest.cdc_positions add column if not exists source_identity jsonb;
comment on column ingest.cdc_positions.source_identity is 'Identity of the source the position belongs to: server_uuid, gtid_domain_id, gtid_pos at the snapshot coordinate.';
