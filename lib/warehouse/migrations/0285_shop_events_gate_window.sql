-- The raw gate's window over raw.shop_events as a view: the rows loaded since the point the gate
-- passes in the setting shopflow.gate_loaded_from (every row when it is unset).
--
-- Why a view and not the same query as a Great Expectations query asset: GX learns a query
-- asset's columns by executing the query itself and reading its result set, so every gate run
-- transferred its whole window to the gate's process before checking anything (33 s and every
-- row in memory for 2.6M events; the nightly full pass, whose window is the whole table, would
-- hold the 10x world's 24M rows). A view's columns come from the catalog. The planner inlines
-- the view, so current_setting still prunes the load-day partitions before the window is read.
create or replace view raw.shop_events_gate_window as
select *
from raw.shop_events
where _loaded_at >= coalesce(nullif(current_setting('shopflow.gate_loaded_from', true), ''), '-infinity')::timestamptz;

comment on view raw.shop_events_gate_window is
    'The raw gate''s window: raw.shop_events loaded since setting shopflow.gate_loaded_from (unset: every row).';
grant select on raw.shop_events_gate_window to transformer;
