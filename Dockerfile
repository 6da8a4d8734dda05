# syntax=docker/dockerfile:1
# Build: compile TypeScript and better-sqlite3's native addon, then keep production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/copy-ui.mjs ./scripts/
RUN npm run build && npm prune --omit=dev

# Run: no compiler, no dev dependencies, non-root.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 5000
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
