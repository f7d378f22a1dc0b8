with

source as (

    select * from {{ source('ingestion', 'dead_letters') }}

),

renamed as (

    select
        ---------- ids
        dead_letter_id,

        ---------- strings
        source as ingest_source,
        topic as kafka_topic,
        source_position,
        error_code,
        reason,

        ---------- numerics
        kafka_partition,
        kafka_offset,
        coalesce(payload_bytes, octet_length(payload)) as payload_bytes,

        ---------- timestamps
        received_at,
        _loaded_at

    from source

)

select * from renamed
