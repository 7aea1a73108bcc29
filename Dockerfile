# One image for every service; the command picks the service:
#   docker build -t rebalancer .
#   docker run --rm -e NATS_URL=nats://nats:4222 rebalancer python -m services.portfolio
# Default command: the gateway (FastAPI on GATEWAY_HOST:GATEWAY_PORT, GET /health).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The project and its pinned dependencies (pyproject.toml). Wheels exist for every dependency on
# linux/amd64 and arm64, so no compiler is needed.
COPY . /app
RUN test -f README.md || echo "# taxaware-rebalancer" > README.md \
 && pip install . \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin rebalancer \
 && chown -R rebalancer /app

USER 10001

ENV GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000 \
    LOG_JSON=true

EXPOSE 8000

CMD ["python", "-m", "services.gateway"]
