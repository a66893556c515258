# Polaris API: one async FastAPI service. Build: docker build -t polaris-api .
# PYTHON_IMAGE: another Python 3.11 base (scripts/offline-images builds a stand-in from Debian)
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY src ./src
COPY clients ./clients
RUN pip install --no-cache-dir -e . && useradd --system --uid 10001 polaris && chown -R polaris /app
USER polaris

ENV POLARIS_ENV=production POLARIS_LOG_FORMAT=json
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz')" || exit 1
# Run `polaris db upgrade` once per release (a job or an init container), then:
CMD ["polaris", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-migrate"]
