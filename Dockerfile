# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    FLIGHTDECK_HOME=/data \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app
# WeasyPrint (status report PDFs) lays text out with Pango, and needs a font.
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml ./
COPY portal ./portal
RUN pip install --no-cache-dir .
COPY . .

# Static files are collected at build time; settings need URLs to import, never a connection.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=postgres://build/flightdeck \
    REDIS_URL=redis://build:6379/0 python manage.py collectstatic --noinput --verbosity 0

RUN useradd --create-home --uid 1000 flightdeck && mkdir -p /data && chown flightdeck /data
USER flightdeck
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", \
     "--workers", "3", "--threads", "4", "--access-logfile", "-"]
