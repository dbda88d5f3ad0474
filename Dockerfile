# Slim runtime image. The CJK font is there for the charts that the admin views draw.
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 policebot

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
RUN pip install --no-cache-dir . && mkdir -p /app/data && chown policebot /app/data

USER policebot
ENV KNOWLEDGE_DIR=/app/knowledge DATA_DIR=/app/data
CMD ["policebot", "chat", "--community", "chengzhong-gongyuan"]
