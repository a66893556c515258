# Stand-in for nginx:1.27-alpine where Docker Hub cannot be reached: Debian bookworm's nginx with
# the official image's layout (conf.d/*.conf, no default site, foreground) and wget.
ARG DEBIAN_IMAGE=polaris-offline/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx wget \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default \
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
CMD ["nginx", "-g", "daemon off;"]
