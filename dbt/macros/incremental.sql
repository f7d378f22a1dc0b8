{#
    Watermark of an incremental model fed by the change log: the newest change-log position
    already folded into it (0 on the first build). Facts store it per row as source_change_id,
    staging models as _change_id. Looked up first and inlined as a literal, like
    load_watermark below: behind a subquery the planner guesses a third of the log.
#}
{% macro change_watermark(column = 'source_change_id') -%}
    {%- set watermark_sql -%}
        select coalesce(max({{ column }}), 0) from {{ this }}
    {%- endset -%}
    {%- if execute -%}
        {{ run_query(watermark_sql).columns[0].values()[0] | int }}
    {%- else -%}
        ({{ watermark_sql }})
    {%- endif -%}
{%- endmacro %}

{#
    Pre-hook of incremental facts: rows whose source row no longer exists (deleted in the
    shop) are removed, so an incremental run matches a full refresh. Runs before the model's
    insert, while the fact's watermark is still the previous run's: only keys the change log
    deleted since then are looked at (a day's deletes, not every row of the history), unless
    the source table was truncated since then, when every row is checked. Staging has already
    dropped those keys, so the insert that follows does not bring them back.
#}
{% macro delete_vanished_rows(key_column, source_relation, source_table) -%}
    {%- if is_incremental() and execute -%}
        {%- set watermark = change_watermark() -%}
        {%- set change_log = cdc_change_log() -%}
        {%- set truncated_sql -%}
            select count(*) from {{ change_log }}
            where
                table_name = '{{ source_table }}'
                and operation = 'truncate'
                and change_id > {{ watermark }}
        {%- endset -%}
        {%- set truncated = run_query(truncated_sql).columns[0].values()[0] > 0 -%}
        delete from {{ this }} as target
        where
            {%- if not truncated %}
            target.{{ key_column }} in (
                {{ cdc_deleted_values(source_table, key_column, watermark) }}
            )
            and
            {%- endif %}
            not exists (
                select 1
                from {{ source_relation }} as live
                where live.{{ key_column }} = target.{{ key_column }}
            )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#
    Post-hook of an incremental model keyed by another model's rows (int_order_fraud_signals by
    fct_orders): rows whose key the source no longer holds are removed. A post-hook, not a
    pre-hook like delete_vanished_rows, because the model reads a deleted key's kept row first
    (where the deleted order's card attempts were). One anti-join on the key's index: 0.2 s for
    500k orders.
#}
{% macro delete_rows_without_source(key_column, source_relation) -%}
    delete from {{ this }} as kept
    where not exists (
        select 1
        from {{ source_relation }} as live
        where live.{{ key_column }} = kept.{{ key_column }}
    )
{%- endmacro %}

{#
    Load-time watermark of an incremental model fed by the clickstream: the newest load time
    already folded into it, less var events_lookback_minutes (an ingest transaction commits
    after it stamped its rows, so rows can land slightly "in the past"). Rows loaded after it
    are read again; the model skips the ones it already has.

    The value is looked up first and written into the SQL as a literal: behind a subquery the
    planner cannot tell "the last few minutes" from "a third of the table" and scans tens of
    millions of rows instead of a range of the load-time index.

    kept_filter narrows the rows the watermark is taken from, for a model that keeps several
    sources side by side.
#}
{% macro load_watermark(column, kept_filter = none) -%}
    {%- set watermark_sql -%}
        select
            coalesce(max(kept.{{ column }}), '-infinity'::timestamptz)
            - interval '{{ var("events_lookback_minutes") }} minutes'
        from {{ this }} as kept
        {%- if kept_filter %}
        where {{ kept_filter }}
        {%- endif %}
    {%- endset -%}
    {#- As text: the driver cannot represent -infinity as a datetime. -#}
    {%- if execute -%}
        {%- set value = run_query('select (' ~ watermark_sql ~ ')::text').columns[0].values()[0] -%}
        '{{ value }}'::timestamptz
    {%- else -%}
        ({{ watermark_sql }})
    {%- endif -%}
{%- endmacro %}

{#
    First day an incremental day-grain mart must rebuild, as a date literal: the earliest of
    the days new data touched (first_changed_day_sql: a query giving that one date, from the
    mart's clickstream batch) and the days up to the as-of date not built yet. 'infinity'
    when there is nothing to rebuild.

    A literal: "day >= (subquery)" is planned as a third of the table, and day-grain marts
    filter tables with years of history by it.
#}
{% macro first_day_to_rebuild(built_date_column, first_changed_day_sql) -%}
    {%- set first_day_sql -%}
        least(
            ({{ first_changed_day_sql }}),
            (
                select min(calendar.date_day)
                from {{ ref('dim_date') }} as calendar
                cross join {{ ref('int_reporting_dates') }} as reporting_dates
                where
                    calendar.date_day <= reporting_dates.as_of_date
                    and not exists (
                        select 1
                        from {{ this }} as built
                        where built.{{ built_date_column }} = calendar.date_day
                    )
            )
        )
    {%- endset -%}
    {{ date_literal(first_day_sql, 'infinity') }}
{%- endmacro %}

{#
    A date looked up before the model's SQL is rendered, as a literal (see load_watermark for
    why); `otherwise` when the query gives null (and while parsing).
#}
{% macro date_literal(date_sql, otherwise) -%}
    {%- set value = none -%}
    {%- if execute -%}
        {%- set value = run_query('select (' ~ date_sql ~ ')::text').columns[0].values()[0] -%}
    {%- endif -%}
    '{{ value if value is not none else otherwise }}'::date
{%- endmacro %}

{#
    The rebuild window of an incremental day-grain mart (active_users_daily,
    conversion_funnel_daily): every calendar day up to the as-of date, from the first day new
    data touched (first_day_to_rebuild) on incremental runs. Rendered over the model's own
    `calendar` and `reporting_dates` import CTEs.
#}
{% macro days_to_rebuild(first_day) -%}
    select calendar.date_day
    from calendar
    cross join reporting_dates
    where
        calendar.date_day <= reporting_dates.as_of_date
        {%- if is_incremental() %}
        and calendar.date_day >= {{ first_day }}
        {%- endif %}
{%- endmacro %}

{# Post-hook of those marts: days after the as-of date (an earlier as-of date) are dropped. #}
{% macro delete_days_after_as_of(date_column) -%}
    delete from {{ this }} where {{ date_column }} > (select as_of_date from {{ ref('int_reporting_dates') }})
{%- endmacro %}
