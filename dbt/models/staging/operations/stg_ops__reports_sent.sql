with

source as (

    select * from {{ source('ops', 'reports_sent') }}

),

renamed as (

    select
        ---------- ids
        run_id::text as run_id,
        message_id,

        ---------- strings
        recipients,

        ---------- dates
        business_date,

        ---------- timestamps
        sent_at

    from source

)

select * from renamed
