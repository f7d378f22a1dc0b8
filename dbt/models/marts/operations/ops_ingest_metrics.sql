{#
    Ingest throughput and lag per component per hour, from the metrics the ingestors
    record with each flush.
#}
with

metrics as (

    select * from {{ ref('stg_ops__ingest_metrics') }}

),

hourly as (

    select
        component,
        date_trunc('hour', recorded_at) as hour_start_at,
        count(*) as flush_count,
        count(distinct instance_id) as instance_count,
        sum(rows_loaded) as rows_loaded,
        sum(dead_letter_count) as dead_letter_count,
        avg(batch_duration_ms) as average_batch_ms,
        max(batch_duration_ms) as max_batch_ms,
        avg(rows_per_second) as average_rows_per_second,
        max(lag_ms) as max_lag_ms,
        max(consumer_lag) as max_consumer_lag
    from metrics
    group by 1, 2

),

final as (

    select
        ---------- strings
        component,

        ---------- numerics
        flush_count::integer as flush_count,
        instance_count::integer as instance_count,
        rows_loaded::bigint as rows_loaded,
        dead_letter_count::bigint as dead_letter_count,
        round(average_batch_ms::numeric, 1)::numeric(14, 1) as average_batch_ms,
        round(max_batch_ms::numeric, 1)::numeric(14, 1) as max_batch_ms,
        round(average_rows_per_second::numeric, 1)::numeric(14, 1) as average_rows_per_second,
        round(max_lag_ms::numeric, 1)::numeric(14, 1) as max_lag_ms,
        max_consumer_lag::bigint as max_consumer_lag,

        ---------- timestamps
        hour_start_at

    from hourly

)

select * from final
