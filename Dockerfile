# Production image: the same code runs as web (gunicorn), worker and beat; see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VAR_DIR=/app/var

WORKDIR /app
RUN useradd --create-home --uid 1000 superfast

COPY pyproject.toml README.md ./
COPY superfast ./superfast
COPY issues ./issues
COPY subscribers ./subscribers
COPY templates ./templates
COPY manage.py ./
RUN pip install --no-cache-dir . \
    && DEBUG=1 python manage.py collectstatic --noinput \
    && mkdir -p /app/var/media && chown -R superfast /app/var

USER superfast
EXPOSE 8000
CMD ["gunicorn", "superfast.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
