{#
    Column names and warehouse types of each source table, mirroring generator/ddl/shop.sql
    (the source contract). DATETIME(3) columns hold UTC, so they become timestamptz.
#}
{% macro shop_source_tables() -%}
    {{ return({
        'customers': [
            ('customer_id', 'bigint'), ('email', 'text'), ('first_name', 'text'),
            ('last_name', 'text'), ('phone', 'text'), ('country_code', 'text'),
            ('region', 'text'), ('city', 'text'), ('postal_code', 'text'),
            ('street_address', 'text'), ('signup_channel', 'text'),
            ('signed_up_at', 'timestamptz'), ('created_at', 'timestamptz'),
            ('updated_at', 'timestamptz'),
        ],
        'products': [
            ('product_id', 'bigint'), ('sku', 'text'), ('product_name', 'text'),
            ('category', 'text'), ('subcategory', 'text'), ('brand', 'text'),
            ('price', 'numeric(12, 2)'), ('cost', 'numeric(12, 2)'),
            ('is_active', 'boolean'), ('launched_at', 'timestamptz'),
            ('created_at', 'timestamptz'), ('updated_at', 'timestamptz'),
        ],
        'inventory': [
            ('product_id', 'bigint'), ('quantity_on_hand', 'integer'),
            ('reorder_point', 'integer'), ('reorder_quantity', 'integer'),
            ('last_restocked_at', 'timestamptz'), ('created_at', 'timestamptz'),
            ('updated_at', 'timestamptz'),
        ],
        'orders': [
            ('order_id', 'bigint'), ('customer_id', 'bigint'), ('session_id', 'text'),
            ('status', 'text'), ('currency', 'text'),
            ('subtotal_amount', 'numeric(12, 2)'), ('discount_amount', 'numeric(12, 2)'),
            ('shipping_amount', 'numeric(12, 2)'), ('tax_amount', 'numeric(12, 2)'),
            ('total_amount', 'numeric(12, 2)'), ('ship_country_code', 'text'),
            ('ship_region', 'text'), ('ship_city', 'text'), ('ship_postal_code', 'text'),
            ('placed_at', 'timestamptz'), ('paid_at', 'timestamptz'),
            ('shipped_at', 'timestamptz'), ('delivered_at', 'timestamptz'),
            ('cancelled_at', 'timestamptz'), ('returned_at', 'timestamptz'),
            ('created_at', 'timestamptz'), ('updated_at', 'timestamptz'),
        ],
        'order_items': [
            ('order_item_id', 'bigint'), ('order_id', 'bigint'), ('product_id', 'bigint'),
            ('quantity', 'integer'), ('unit_price', 'numeric(12, 2)'),
            ('discount_amount', 'numeric(12, 2)'), ('line_total', 'numeric(12, 2)'),
            ('created_at', 'timestamptz'), ('updated_at', 'timestamptz'),
        ],
        'payments': [
            ('payment_id', 'bigint'), ('order_id', 'bigint'), ('payment_method', 'text'),
            ('status', 'text'), ('amount', 'numeric(12, 2)'),
            ('card_fingerprint', 'text'), ('ip_country_code', 'text'),
            ('attempted_at', 'timestamptz'), ('created_at', 'timestamptz'),
            ('updated_at', 'timestamptz'),
        ],
        'restocks': [
            ('restock_id', 'bigint'), ('product_id', 'bigint'), ('quantity', 'integer'),
            ('unit_cost', 'numeric(12, 2)'), ('received_at', 'timestamptz'),
            ('created_at', 'timestamptz'), ('updated_at', 'timestamptz'),
        ],
    }) }}
{%- endmacro %}

{# One table's (name, type) list; its first column is the primary key. #}
{% macro shop_columns(table_name) -%}
    {%- set tables = shop_source_tables() -%}
    {%- if table_name not in tables -%}
        {{ exceptions.raise_compiler_error("shop_columns: unknown source table " ~ table_name) }}
    {%- endif -%}
    {{ return(tables[table_name]) }}
{%- endmacro %}
