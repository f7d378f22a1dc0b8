#!/bin/bash
# Superset in Docker: metadata DB upgrade, admin account, roles, then the ShopFlow dashboards
# bundle (dashboards/bundle) pointed at the compose warehouse as bi_reader, then the web server.
set -euo pipefail

# The image has no Postgres driver; the version is the one the local venv pins
# (requirements-superset.constraints.txt).
pip install --no-cache-dir --quiet psycopg2-binary==2.9.13

superset db upgrade
superset fab create-admin --username "$SUPERSET_ADMIN_USER" --password "$SUPERSET_ADMIN_PASSWORD" \
  --firstname ShopFlow --lastname Admin --email admin@shopflow.local || true   # exists on restarts
superset init

# The bundle names the local warehouse (127.0.0.1:54329); inside compose it is postgres:5432.
work=$(mktemp -d)
cp -r /app/shopflow/bundle "$work/shopflow_dashboards"
sed -i "s#^sqlalchemy_uri: .*#sqlalchemy_uri: postgresql+psycopg2://bi_reader:${WAREHOUSE_BI_PASSWORD}@postgres:5432/shopflow#" \
  "$work"/shopflow_dashboards/databases/*.yaml
(cd "$work" && python -c "import shutil; shutil.make_archive('bundle', 'zip', '.', 'shopflow_dashboards')")
superset import-dashboards --path "$work/bundle.zip" --username "$SUPERSET_ADMIN_USER"

exec gunicorn --bind 0.0.0.0:8088 --workers 2 --timeout 120 "superset.app:create_app()"
