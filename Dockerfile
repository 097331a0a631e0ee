# syntax=docker/dockerfile:1
# ado-catalog-sync: `ado-sync serve` (webhooks, health, metrics and BullMQ workers) by default.
# Build:  docker build -t ado-catalog-sync .
# The build steps are mirrored without Docker by scripts/docker-build-check.sh (run in CI).
# Node 24 LTS; the code also runs on Node 20 (engines), where CI runs it.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: dev dependencies, TypeScript compile, then prune to production dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# node-jq must not download a jq binary (the runtime uses Debian's); .npmrc sets ignore-scripts=true.
ENV NODE_JQ_SKIP_INSTALL_BINARY=true
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
# Only src/ is compiled: the simulators, the demo and the benchmarks never reach the image.
COPY tsconfig.json tsconfig.runtime.json ./
COPY src ./src
RUN npm run build:runtime \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production dependencies, compiled output, default mapping, blueprints and action definitions ----
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends jq tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    JQ_PATH=/usr/bin/jq \
    NODE_JQ_SKIP_INSTALL_BINARY=true \
    SERVER_PORT=8000
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY mappings ./mappings
COPY blueprints ./blueprints
COPY port-resources ./port-resources
# Files stay owned by root (read-only for the app); the process runs as the image's unprivileged `node` user,
# numeric so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 8000
# tini is PID 1: it forwards SIGTERM to node (graceful shutdown of server and workers) and reaps children (jq).
ENTRYPOINT ["tini", "--", "node", "dist/src/cli/main.js"]
CMD ["serve"]
