# bootgate in a container: docs/operations.md, "Container".
# Stage 1 builds dist/ with tsc (a dev dependency); stage 2 installs production dependencies
# only; the image is node:20-bookworm-slim with dist/ and neither compilers nor dev tools.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build --if-present && mkdir -p dist

FROM node:20-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts off (a prepare build would need the dev toolchain), then the one native addon.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    BOOTGATE_HOST=0.0.0.0 \
    BOOTGATE_PORT=8080 \
    BOOTGATE_DATA_DIR=/var/lib/bootgate \
    BOOTGATE_GOLDEN_DIR=/app/golden-measurements
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json package-lock.json ./
# bin/bootgate.mjs runs dist/ (tsc output with its assets); scripts/build.mjs only checks it is there.
COPY bin ./bin
COPY scripts ./scripts
COPY golden-measurements ./golden-measurements
RUN mkdir -p /var/lib/bootgate && chown node:node /var/lib/bootgate
USER node
VOLUME ["/var/lib/bootgate"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/bootgate.mjs", "serve"]
