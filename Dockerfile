# The app image: `policebot run` (web app, delivery loop, reminders; Telegram with BOT_TOKEN).
# Slim Debian Python, non-root, the CJK font the admin charts need (matplotlib has no Chinese glyphs).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 policebot

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY bot ./bot
COPY knowledge ./knowledge
# Templates, static files and migrations are package data (pyproject.toml), so a plain install ships them.
RUN pip install . -c constraints.txt && mkdir -p /app/data && chown policebot /app/data

USER policebot
# DATA_DIR only holds caches (jieba's dictionary) and, when SESSION_KEY is unset, a generated key:
# replicas must share SESSION_KEY instead (docker-compose.yml requires it).
ENV KNOWLEDGE_DIR=/app/knowledge \
    DATA_DIR=/app/data \
    WEB_HOST=0.0.0.0 \
    WEB_PORT=8080
# The matcher and the emergency triage learn the shipped knowledge while the image is built (minutes):
# a replica started on a cold DATA_DIR would train as long before it answered, far past its health check.
RUN policebot kb train
EXPOSE 8080

# /healthz answers 200 when the database answers, 503 otherwise (urlopen raises on the latter).
HEALTHCHECK --interval=15s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('WEB_PORT', '8080'), timeout=4)"]

CMD ["policebot", "run"]
