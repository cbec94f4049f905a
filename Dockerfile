# plangate: the gateway, its ops port and (when configured) the decision API, in one process.
#
#   docker build -t plangate .
#   docker run --rm -p 8080:8080 -p 9090:9090 -v "$PWD/examples/docker-config:/etc/plangate:ro" \
#     -e REDIS_URL=redis://redis:6379 -e PLANGATE_UPSTREAM=http://site:3001 \
#     -e PLANGATE_ANONYMOUS_ID_SECRET plangate
#
# One directory is mounted at /etc/plangate: the YAML at /etc/plangate/plangate.yaml, its workflow,
# template and key files beside it (their paths are relative to the YAML). Secrets, Redis and the
# upstream come from the environment (`${VAR}` in the YAML). examples/docker-compose.yml runs it with
# Redis and the demo site; test/production-install.test.ts runs this file's CMD with that file's
# environment. See docs/operations.md.

# The current Node LTS line; override with --build-arg NODE_VERSION=... to move with it.
ARG NODE_VERSION=24

# ---- build: all dependencies, TypeScript → dist/ ---------------------------------------------
FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and the built output only ------------------------------
FROM node:${NODE_VERSION}-slim AS runtime
# Inside a container, loopback is reachable from nowhere else: the gateway and the ops port (probes,
# Prometheus) listen on all interfaces, whatever the mounted config says; only published ports are
# reachable. PLANGATE_PORT (default: gateway.listen.port, 8080) moves the gateway.
ENV NODE_ENV=production \
    PLANGATE_HOST=0.0.0.0 \
    PLANGATE_OPS_HOST=0.0.0.0 \
    PLANGATE_OPS_PORT=9090
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# The default paywall template (config/templates) and the example configs.
COPY config ./config
# Files stay owned by root and read-only to the process; it runs as the image's unprivileged user.
USER node
EXPOSE 8080 9090 3100
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PLANGATE_OPS_PORT || 9090) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM (docker stop) drains in-flight requests for up to PLANGATE_SHUTDOWN_TIMEOUT_MS (10 s by
# default; keep docker stop's --time above it). SIGHUP (docker kill -s HUP) reloads the config.
# The node flags keep the heap sized for traffic through quiet spells (docs/operations.md, "Runtime
# flags"); bin/plangate.js starts node with the same ones, and the benchmark runs this command.
CMD ["node", "--no-memory-reducer", "--min-semi-space-size=32", "--max-semi-space-size=32", "dist/cli/main.js", "gateway", "--config", "/etc/plangate/plangate.yaml"]
