-- The Apache Iceberg JDBC catalog of the lakehouse (docs/lakehouse.md): the catalog's own two
-- tables (iceberg_tables, iceberg_namespace_properties), created by Iceberg on first use, live
-- in this schema of the warehouse database. The lakehouse jobs connect as ingest_writer, the
-- role that already lands raw data, so no new credential is needed.
create schema if not exists lake_catalog;
grant usage, create on schema lake_catalog to ingest_writer;
