-- Staging follows raw retention (docs/operations.md "Raw retention"): when a load day of
-- raw.shop_events is archived, the events staging kept from it leave
-- staging.stg_clickstream__events too, so staging is no longer a second copy of the whole
-- history. What staging still needs of them is one fact per event: it was kept once, so a
-- producer re-send loaded later is not admitted again. That fact lives here.
--
-- event_key: md5 of event_id as a uuid (16 bytes, whatever the id's length or format; ids are
-- text because the contract does not force UUIDs on every writer). Two distinct ids share a
-- key with a probability of about n^2 / 2^129: 1e-24 for the 10x world's 24M events.
-- load_day: the load day (UTC) of the event's first copy, the day that was archived. A full
-- refresh of staging needs it: a first copy still in raw on a later day than this is a re-send
-- of an archived event (not admitted), one on this very day was rehydrated (admitted).
--
-- Written by the archive step (lib/warehouse/archive/, as the admin role) in the transaction
-- that drops the day's raw partition and deletes its staging rows; read by the staging model.
-- Never emptied by rehydrating: the keys stay true (those events were kept once) and keep
-- deduplicating until a full refresh has staged the rehydrated rows again.
create table if not exists raw.shop_events_archived_keys (
    event_key uuid primary key,
    load_day  date not null
);

comment on table raw.shop_events_archived_keys is
    'One row per event whose staged row left staging.stg_clickstream__events with its archived load day: md5(event_id)::uuid and that day. Staging''s deduplication reads it.';

-- One row per archived load day whose staged rows were removed: when, how many keys it added,
-- how many staged rows it removed and kept. The newest day is the archive horizon a staging
-- test compares late events with (reading it from the keys would scan them).
create table if not exists raw.shop_events_archived_days (
    load_day        date primary key,
    staged_events   bigint not null,
    removed_events  bigint not null,
    archived_at     timestamptz not null default now()
);

comment on table raw.shop_events_archived_days is
    'Load days of raw.shop_events archived by raw retention, with the staged events whose keys went to shop_events_archived_keys and how many staged rows were removed (the rest stay: see lib/warehouse/archive/).';

grant select on raw.shop_events_archived_keys, raw.shop_events_archived_days to transformer;
