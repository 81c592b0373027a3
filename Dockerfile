# One image for every role: airlane coordinator | worker | dag-processor | callbacks | api | standalone.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# Wheels only (redis's hiredis, orjson... ship manylinux wheels): no compiler needed.
RUN python -m venv /opt/airlane && /opt/airlane/bin/pip install .
# The callbacks role's arq requires redis-py < 6: a virtualenv of its own (pyproject.toml).
RUN python -m venv /opt/airlane-callbacks && /opt/airlane-callbacks/bin/pip install ".[callbacks]"

FROM python:3.11-slim
# redis-server is for `airlane standalone` only; the other roles use AIRLANE_REDIS_URL.
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server=5:7.* \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin airlane \
    && mkdir -p /opt/airlane-dags /var/lib/airlane \
    && chown airlane /var/lib/airlane
COPY --from=build /opt/airlane /opt/airlane
COPY --from=build /opt/airlane-callbacks /opt/airlane-callbacks
ENV PATH=/opt/airlane/bin:$PATH \
    AIRLANE_CALLBACKS_PYTHON=/opt/airlane-callbacks/bin/python \
    PYTHONUNBUFFERED=1 \
    AIRLANE_DAGS_FOLDER=/opt/airlane-dags
USER 10001
WORKDIR /var/lib/airlane
EXPOSE 8080
# Every role: Redis reachable and, for this process's role, its heartbeat fresh.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["airlane", "health"]
ENTRYPOINT ["airlane"]
CMD ["standalone", "--data-dir", "/var/lib/airlane", "--port", "8080"]
