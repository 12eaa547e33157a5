# Follow-up in one image: the `followup` CLI, the reply portal, a Prefect worker and the Prefect
# server (the same Prefect version on both sides). compose.yaml runs each as a service.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    FOLLOWUP_HOME=/var/lib/followup \
    PREFECT_HOME=/home/followup/.prefect

# A regular install (not editable): workers import the flows by module path from site-packages,
# so the deployments `followup deploy` registers need no checkout and no pull step.
# FOLLOWUP_HOME (reports, inbox, outbox) is a volume in compose.yaml; Prefect's home stays per container.
WORKDIR /tmp/followup
COPY pyproject.toml README.md ./
COPY domain domain
COPY db db
COPY notifications notifications
COPY workflows workflows
COPY portal portal
COPY reporting reporting
COPY templates templates
# The translations are compiled into the package (.mo files are not in the repository).
RUN pip install "babel>=2.14" \
    && pybabel -q compile -d notifications/locales -D followup \
    && pip install . \
    && cd / \
    && rm -rf /tmp/followup \
    && useradd --create-home --home-dir /home/followup followup \
    && mkdir -p /var/lib/followup \
    && chown followup /var/lib/followup

USER followup
WORKDIR /var/lib/followup
EXPOSE 8000 4200
CMD ["followup", "--help"]
