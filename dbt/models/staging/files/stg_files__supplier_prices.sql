-- The worked example of ingest/files (ingest/files/examples/supplier-prices.yaml): a supplier's
-- price lists, typed. A file sent again with changes lands as its next version; the current
-- version of each file is the one that counts, so earlier versions' rows are left out here.

with

manifest as (

    select * from {{ source('files', 'file_manifest') }}
    where source_name = 'supplier_prices'

),

file_rows as (

    select * from {{ source('files', 'file_rows') }}

),

current_versions as (

    select distinct on (file_name)
        file_id,
        file_name,
        version,
        landed_at
    from manifest
    order by file_name asc, version desc

),

renamed as (

    select
        ---------- ids
        file_rows.record ->> 'sku' as sku,

        ---------- strings
        current_versions.file_name as source_file_name,

        ---------- numerics
        (file_rows.record ->> 'price')::numeric(12, 2) as price,
        current_versions.version as source_file_version,
        file_rows.line_number as source_line_number,

        ---------- booleans
        (file_rows.record ->> 'in_stock')::boolean as is_in_stock,

        ---------- dates
        (file_rows.record ->> 'valid_from')::date as valid_from,

        ---------- timestamps
        current_versions.landed_at,
        file_rows._loaded_at

    from current_versions
    inner join file_rows
        on current_versions.file_id = file_rows.file_id

)

select * from renamed
