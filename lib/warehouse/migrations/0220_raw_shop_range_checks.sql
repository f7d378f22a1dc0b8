-- The raw gate's range checks over the typed CDC change log (raw_shop.<table>, migration 0140).
-- The jsonb layout let one query check every table's after-image; in the typed layout each rule
-- reads its own table, which exists only once the CDC ingestor has landed a row of it (a shop
-- without payments never has raw_shop.payments). A query naming a missing table fails as a
-- whole, so the rules live here: each runs only when its table and column exist, and the gate
-- (great_expectations/gate/suites_raw.py, suite raw_shop_ranges) expects no rows back.
-- Deletes are skipped: their row is the image before the delete, already checked when it landed.
create or replace function ops.raw_shop_range_violations()
returns table (table_name text, change_id bigint, column_name text, value text, rule text)
language plpgsql stable set search_path = pg_catalog, pg_temp as $$
declare
    check_rule record;
begin
    for check_rule in
        select * from (values
            ('orders', 'total_amount', '< 0', 'order totals >= 0'),
            ('order_items', 'quantity', '< 1', 'item quantities >= 1'),
            ('order_items', 'unit_price', '< 0', 'unit prices >= 0'),
            ('products', 'price', '< 0', 'list prices >= 0'),
            ('payments', 'amount', '< 0', 'payment amounts >= 0')
        ) as rules (rule_table, rule_column, violation, description)
    loop
        if exists (
            select 1 from pg_attribute
            where attrelid = to_regclass(format('raw_shop.%I', check_rule.rule_table))
              and attname = check_rule.rule_column and not attisdropped
        ) then
            return query execute format(
                'select %L::text, change_id, %L::text, %I::text, %L::text from raw_shop.%I '
                'where operation <> %L and %I %s order by change_id limit 100',
                check_rule.rule_table, check_rule.rule_column, check_rule.rule_column, check_rule.description,
                check_rule.rule_table, 'delete', check_rule.rule_column, check_rule.violation);
        end if;
    end loop;
end;
$$;
revoke all on function ops.raw_shop_range_violations() from public;
grant execute on function ops.raw_shop_range_violations() to transformer;
