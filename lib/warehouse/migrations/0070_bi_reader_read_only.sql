-- bi_reader (Superset, the report) only ever reads marts. Its grants already say so; making
-- every one of its sessions read-only as well means a grant added by mistake later, or SQL
-- typed into Superset's SQL Lab, still cannot write: Postgres refuses INSERT/UPDATE/DELETE,
-- CREATE (temporary tables included) and DROP with SQLSTATE 25006 read_only_sql_transaction.
alter role bi_reader set default_transaction_read_only = on;
