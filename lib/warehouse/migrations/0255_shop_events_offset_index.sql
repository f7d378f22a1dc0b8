-- raw.shop_events by Kafka position: what incremental staging reads (stg_clickstream__events and
-- its rejects model: the rows of each topic and partition past the largest offset staging holds).
--
-- Why: staging used to read "loaded since its newest load time minus a lookback". A backfill,
-- a re-ingest or a first deployment stamps a year of events within minutes, so the first cycle
-- after it, and every cycle of the next hour, read the whole backfill again through the BRIN on
-- _loaded_at. Offsets do not have that wall: the Kafka ingestor commits a partition's messages
-- in offset order (ingest/kafka/warehouse.ts: rows and position in one transaction, a writer
-- whose start does not match the stored position is fenced), so the rows staging has not read
-- are exactly those past its largest offset per partition, whatever their load time, late
-- transactions included.
--
-- Not unique: a partitioned table's unique index must contain the partition key (_loaded_at),
-- and exactly once is ingest.kafka_offsets' job (see 0150). A local btree per load day: a read
-- descends each day's index once per range, and a day's index is dropped with its partition
-- (raw retention). Its cost on COPY is measured in docs/kafka-ingestor.md ("Raw layout").
create index if not exists shop_events_position_idx
    on raw.shop_events (topic, kafka_partition, kafka_offset);
