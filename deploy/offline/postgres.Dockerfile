# Stand-in for postgres:16-alpine where Docker Hub cannot be reached: Debian bookworm's
# PostgreSQL 15 with the official image's contract (POSTGRES_USER / _PASSWORD / _DB, data in
# /var/lib/postgresql/data, pg_isready and psql on PATH).
ARG DEBIAN_IMAGE=polaris-offline/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
EXPOSE 5432
CMD ["postgres"]
