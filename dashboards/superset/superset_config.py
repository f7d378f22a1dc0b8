"""Superset configuration for ShopFlow's local instance.

Everything that differs between machines comes from the environment, set by
`npm run dashboards` (dashboards/lib/superset-env.ts) from ShopFlow's config:

  SUPERSET_SECRET_KEY       signs sessions and encrypts stored database passwords
  SHOPFLOW_SUPERSET_HOME    directory holding the SQLite metadata database
"""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]

_home = os.environ["SHOPFLOW_SUPERSET_HOME"]
SQLALCHEMY_DATABASE_URI = f"sqlite:///{os.path.join(_home, 'superset.db')}?check_same_thread=false"

# Plain http on 127.0.0.1: no HTTPS redirect or strict transport headers.
TALISMAN_ENABLED = False
# Keep CSRF for the UI; the chart data API is exempt by default and the CLI logs in with a token.
WTF_CSRF_ENABLED = True

# A local instance keeps query results in-process: no Redis or Celery to run.
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
FILTER_STATE_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}
EXPLORE_FORM_DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}

FEATURE_FLAGS = {
    "DASHBOARD_NATIVE_FILTERS": True,
    "ENABLE_TEMPLATE_PROCESSING": False,
}

# No outbound calls from the browser or the server for usage analytics.
SCARF_ANALYTICS = False

# Dashboards open in the browser without a chart-by-chart warm-up query limit.
ROW_LIMIT = 50000
SQL_MAX_ROW = 100000

# Analysts explore in SQL Lab through the same read-only bi_reader role.
PREVENT_UNSAFE_DB_CONNECTIONS = False
