# One image for the whole suite: every service and the gateway, each container running one of
# them (see docker-compose.yml). Build: docker build -t territoires-industrie .
# Only the packages are installed, not editable sources; the image runs as a non-root user.

# The public page's assets (the DSFR and its charts), from npm as `make web` builds them.
FROM node:20-slim AS web
WORKDIR /app/gateway/web
COPY gateway/web/package.json gateway/web/package-lock.json gateway/web/.npmrc gateway/web/build.mjs ./
RUN npm ci --ignore-scripts --no-audit --no-fund && node build.mjs

FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never PIP_NO_CACHE_DIR=1
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY kit kit
COPY services services
COPY gateway gateway
COPY --from=web /app/gateway/src/gateway/static/vendor gateway/src/gateway/static/vendor
COPY cli cli
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin tdi
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TDI_DATA_DIR=/app/var
USER 10001
EXPOSE 8000 8001 8002 8003
# docker-compose.yml gives each container its command; this default runs the gateway.
# `tdi serve`: uvicorn with JSON logs from its first line, metrics summed over its workers
# (WEB_CONCURRENCY), and, for the gateway, uvicorn's proxy headers off.
CMD ["tdi", "serve", "gateway", "--host", "0.0.0.0", "--port", "8000", \
     "--timeout-graceful-shutdown", "20"]
