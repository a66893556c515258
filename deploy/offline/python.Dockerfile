# Stand-in for python:3.11-slim where Docker Hub cannot be reached: Debian bookworm's Python 3.11
# in a virtual environment on PATH, so `pip install` and `python` behave as in the official image.
ARG DEBIAN_IMAGE=polaris-offline/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/python && ln -s /opt/python/bin/python /usr/local/bin/python
# extra-ca.pem: the CA bundle of a network that intercepts TLS (empty where none does)
COPY extra-ca.pem /usr/local/share/polaris-extra-ca.pem
RUN if [ -s /usr/local/share/polaris-extra-ca.pem ]; then \
      cat /usr/local/share/polaris-extra-ca.pem >> /etc/ssl/certs/ca-certificates.crt; fi
ENV PATH=/opt/python/bin:$PATH PIP_CERT=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
