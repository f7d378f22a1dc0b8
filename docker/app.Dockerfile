# The ShopFlow app image: Node 20 for the ingestors, scheduler, generator and report, plus the
# Python venv with dbt and Great Expectations. Services (Postgres, MariaDB, Kafka, SMTP) are
# separate containers, reached through WAREHOUSE_URL, SHOP_DB_URL, KAFKA_BROKERS and SMTP_URL.
FROM node:20-bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive DO_NOT_TRACK=1 GX_ANALYTICS_ENABLED=false \
    PYTHON_VENV=/opt/shopflow-venv SHOPFLOW_DATA_DIR=/data
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Python tools first: they change least often, so this layer stays cached.
COPY requirements.txt requirements.lock ./
RUN python3 -m venv "$PYTHON_VENV" \
 && "$PYTHON_VENV/bin/pip" install --no-cache-dir -r requirements.txt -c requirements.lock \
 && "$PYTHON_VENV/bin/dbt" --version >/dev/null \
 && "$PYTHON_VENV/bin/python" -c "import great_expectations"

# tsx (a dev dependency) runs the TypeScript sources, so the full install is needed.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .
RUN mkdir -p /data && chown node:node /data
USER node

CMD ["node", "--import", "tsx", "scheduler/cli.ts"]
