-- The forecast's mean beside its point forecast (docs/forecast.md, "Point forecast and mean").
-- forecast_units is the median of the day's demand, the forecast absolute error (WAPE) asks
-- for; expected_units is the mean the model estimated, which sums over days and products:
-- stock cover, lead-time demand and category totals read it. Rows written before this
-- migration published the mean as forecast_units, so it is their expected_units too.
alter table marts.demand_forecast add column if not exists expected_units numeric(14,3);
update marts.demand_forecast set expected_units = forecast_units where expected_units is null;
alter table marts.demand_forecast alter column expected_units set not null;
do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'demand_forecast_expected_units_check') then
    alter table marts.demand_forecast
      add constraint demand_forecast_expected_units_check check (expected_units >= 0);
  end if;
end $$;
