# Stand-in for redis:7-alpine where Docker Hub cannot be reached: Debian bookworm's Redis 7,
# reachable from the stack's network as in the official image (protected mode off).
ARG DEBIAN_IMAGE=polaris-offline/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/*
RUN printf '#!/bin/sh\nif [ "$1" = redis-server ]; then shift; exec redis-server --bind 0.0.0.0 --protected-mode no "$@"; fi\nexec "$@"\n' \
      > /usr/local/bin/docker-entrypoint.sh && chmod +x /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
EXPOSE 6379
CMD ["redis-server"]
