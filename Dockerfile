# Images for temporal-compose.yml, one Dockerfile, two targets:
#   app      every Node process of the platform (worker, API, stream consumer); the command picks the role
#   airflow  Apache Airflow 3 with the Temporal Python client; the DAGs are mounted, not baked in
# Debian slim, not Alpine: the Temporal core bridge and DuckDB ship glibc binaries.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY lib lib
COPY activities activities
COPY workflows workflows
COPY workers workers
COPY api api
COPY scripts scripts
COPY tools tools
COPY clients clients
# npm run build (tsconfig.build.json: no tests, no benches): tsc, then the workflow bundle the worker loads instead of bundling at start.
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS app
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production NODE_OPTIONS=--max-old-space-size=1536
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# The dashboard's static page (plain files, no build step) next to its routes in dist/api/.
COPY --from=build /app/api/dashboard dist/api/dashboard
COPY package.json ./
# The data volume mounts here; a fresh named volume takes this directory's owner, so node can write.
RUN mkdir -p /var/lib/retailflow && chown node:node /var/lib/retailflow
USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/workers/main.js"]

# Same pins as the local virtual environment (requirements.txt + the frozen constraints.txt).
FROM apache/airflow:3.3.2-python3.11 AS airflow
COPY requirements.txt constraints.txt /tmp/retailflow/
RUN pip install --no-cache-dir -c /tmp/retailflow/constraints.txt "apache-airflow==3.3.2" "temporalio==1.35.0"
