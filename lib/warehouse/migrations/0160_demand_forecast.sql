-- Demand forecasts (forecast/, npm run forecast) and the role that writes them.
--   forecast_writer  reads marts.* (the star schema it forecasts from); writes only
--                    marts.demand_forecast. Its password is set by the migration runner
--                    (WAREHOUSE_FORECAST_PASSWORD, lib/warehouse/roles.ts).
-- The table lives beside the dbt marts so the report, the alerts and Superset read it as any
-- mart; dbt does not build it (it is the `forecast` source in dbt/models/marts/forecasting).

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'forecast_writer') then
    create role forecast_writer login nosuperuser nocreatedb nocreaterole;
  end if;
end $$;

grant usage on schema marts to forecast_writer;
grant select on all tables in schema marts to forecast_writer;
-- Tables dbt (re)creates in marts stay readable to the forecaster.
alter default privileges for role transformer in schema marts grant select on tables to forecast_writer;

create table if not exists marts.demand_forecast (
    as_of_date      date          not null,
    model           text          not null check (model in ('seasonal_naive', 'moving_average', 'ridge', 'xgboost')),
    grain           text          not null check (grain in ('product', 'category')),
    product_id      bigint,
    category        text          not null,
    forecast_date   date          not null,
    horizon_days    integer       not null check (horizon_days between 1 and 60),
    forecast_units  numeric(14,3) not null check (forecast_units >= 0),
    lower_units     numeric(14,3) not null check (lower_units >= 0),
    upper_units     numeric(14,3) not null,
    interval_level  numeric(4,3)  not null check (interval_level > 0 and interval_level < 1),
    seed            integer       not null,
    run_id          uuid,
    created_at      timestamptz   not null default now(),
    check (forecast_date = as_of_date + horizon_days),
    check (lower_units <= forecast_units and forecast_units <= upper_units),
    check ((grain = 'product') = (product_id is not null))
);
create unique index if not exists demand_forecast_key
    on marts.demand_forecast (as_of_date, model, grain, category, coalesce(product_id, 0), forecast_date);
create index if not exists demand_forecast_forecast_date on marts.demand_forecast (forecast_date, model, grain);

revoke all on marts.demand_forecast from forecast_writer;
grant select, insert, delete on marts.demand_forecast to forecast_writer;
grant select on marts.demand_forecast to transformer, bi_reader, ops_writer;
