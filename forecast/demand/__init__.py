"""Demand forecasting for ShopFlow: daily units per product and category from the star schema.

The pieces, each in its own module:
  panel      the product x day arrays (units, censoring, price, discount) and how they are built
  calendar   what is known about a future date in advance (weekday, season, holidays)
  features   the features of a (product, origin, horizon) row, from data up to the origin only
  models     seasonal naive, moving average, ridge and one global XGBoost model
  intervals  split-conformal prediction intervals
  pipeline   forecast_as_of(): train, calibrate, predict the next days for every active product
  backtest   rolling-origin evaluation against what then happened
  store      reading the panel from the warehouse and writing marts.demand_forecast
"""
