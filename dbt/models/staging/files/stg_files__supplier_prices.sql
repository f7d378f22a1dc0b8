-- The worked example of ingest/files (ingest/files/examples/supplier-prices.yaml): a supplier's
-- price lists, typed in raw_files.supplier_prices by the ingestor. A file sent again with changes
-- lands as its next version; the current version of each file is the one that counts, so earlier
-- versions' rows are left out here. Only versions landed in the typed layout count: a warehouse
-- upgraded from the jsonb layout re-lands its files once (docs/files.md, "Upgrading").

with

manifest as (

    select * from {{ source('files', 'file_manifest') }}
    where
        source_name = 'supplier_prices'
        and layout = 'typed'

),

supplier_prices as (

    {{ files_typed_rows('supplier_prices', [
        ('sku', 'text'),
        ('price', 'numeric(12, 2)'),
        ('valid_from', 'date'),
        ('in_stock', 'boolean'),
    ]) }}

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
        supplier_prices.sku,

        ---------- strings
        current_versions.file_name as source_file_name,

        ---------- numerics
        supplier_prices.price,
        current_versions.version as source_file_version,
        supplier_prices.line_number as source_line_number,

        ---------- booleans
        supplier_prices.in_stock as is_in_stock,

        ---------- dates
        supplier_prices.valid_from,

        ---------- timestamps
        current_versions.landed_at,
        supplier_prices._loaded_at

    from current_versions
    inner join supplier_prices
        on current_versions.file_id = supplier_prices.file_id

)

select * from renamed
