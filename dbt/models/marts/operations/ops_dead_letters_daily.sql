{#
    Rejected input per day, ingest source and error code: how much, how big, and an
    example reason.
#}
with

dead_letters as (

    select * from {{ ref('stg_ops__dead_letters') }}

),

daily as (

    select
        (received_at at time zone 'UTC')::date as received_date,
        ingest_source,
        error_code,
        count(*) as dead_letter_count,
        sum(payload_bytes) as payload_bytes,
        min(reason) as example_reason,
        min(received_at) as first_received_at,
        max(received_at) as last_received_at
    from dead_letters
    group by 1, 2, 3

),

final as (

    select
        ---------- dates
        received_date,

        ---------- strings
        ingest_source,
        error_code,
        example_reason,

        ---------- numerics
        dead_letter_count::integer as dead_letter_count,
        coalesce(payload_bytes, 0)::bigint as payload_bytes,

        ---------- timestamps
        first_received_at,
        last_received_at

    from daily

)

select * from final
