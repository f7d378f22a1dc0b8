with

source as (

    select * from {{ source('ingest', 'kafka_offsets') }}

),

renamed as (

    select
        ---------- ids
        consumer_group,
        topic as kafka_topic,
        kafka_partition,

        ---------- numerics
        next_offset,

        ---------- timestamps
        updated_at

    from source

)

select * from renamed
