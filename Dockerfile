# The hub's image (deploy/compose.yaml builds it): `hub run` as a non-root user, the data
# in /var/lib/hub. The face extra uses dlib-bin (prebuilt), so no compiler is needed.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/hub --shell /usr/sbin/nologin hub \
 && mkdir -p /var/lib/hub /var/backups/hub \
 && chown hub:hub /var/lib/hub /var/backups/hub && chmod 0700 /var/lib/hub /var/backups/hub

WORKDIR /opt/hub
COPY setup.cfg pyproject.toml README.md LICENSE NOTICE ./
COPY hub ./hub
COPY migrations ./migrations
COPY config ./config
RUN pip install --no-cache-dir -e ".[face]" \
 && pip install --no-cache-dir --no-deps "face_recognition==1.3.0"

USER hub
ENV HUB_VAR_DIR=/var/lib/hub HUB_WEB_HOST=0.0.0.0 PYTHONUNBUFFERED=1
VOLUME ["/var/lib/hub", "/var/backups/hub"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s \
  CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz').status != 200)"
ENTRYPOINT ["/bin/sh", "-c", "hub db upgrade && exec hub \"$@\"", "--"]
CMD ["run"]
