# everycall: api, dispatcher, watchdog and migrations share this image.
# Build:  docker build -t everycall .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Non-root runtime user, with a writable home for Prefect's local state.
RUN groupadd --system --gid 10001 everycall \
 && useradd --system --uid 10001 --gid everycall --create-home --home-dir /home/everycall everycall

WORKDIR /app

# The project (see .dockerignore), installed against the pinned working set in
# constraints.txt so the image gets the same versions as CI (prefect 3.8.8 needs a
# compatible fastapi; see docs).
COPY . .
RUN pip install -c constraints.txt . \
 && rm -rf /app/build

# The base image sets LANG=C.UTF-8, which the CLI would read as English; its users read
# Chinese (EVERYCALL_LANG wins over LANG; set EVERYCALL_LANG=en to override).
ENV PREFECT_HOME=/home/everycall/.prefect \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    EVERYCALL_LANG=zh

USER everycall
WORKDIR /home/everycall

EXPOSE 8000

ENTRYPOINT ["everycall"]
CMD ["--help"]
