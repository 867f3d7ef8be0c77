# Production image: the same code runs as web (gunicorn), worker and beat; see docker-compose.yml.
FROM python:3.11-slim

# DEBUG=0 here, not only in docker-compose.yml: an image started any other way must not
# serve tracebacks or fall back to development defaults.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DEBUG=0 \
    VAR_DIR=/app/var

WORKDIR /app
RUN useradd --create-home --uid 1000 superfast

COPY pyproject.toml README.md ./
COPY superfast ./superfast
COPY issues ./issues
COPY subscribers ./subscribers
COPY templates ./templates
COPY manage.py ./
# Editable, so the code runs from /app, beside templates/ (settings find it from the package).
# Static files are collected with DEBUG off: production serves the hashed names from the
# manifest this writes. The variables here only satisfy production settings for the build.
RUN pip install --no-cache-dir -e . \
    && DEBUG=0 ALLOWED_HOSTS=build SECRET_KEY=collectstatic-only-not-a-secret-0123456789abcdefghijklmnop \
       DATABASE_URL=sqlite:////tmp/build.sqlite3 python manage.py collectstatic --noinput \
    && mkdir -p /app/var /media /private && chown -R superfast /app/var /media /private \
    && chmod 700 /private

USER superfast
EXPOSE 8000
CMD ["gunicorn", "superfast.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
