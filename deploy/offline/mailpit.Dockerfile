# Stand-in for axllent/mailpit where Docker Hub cannot be reached: an aiosmtpd sink on port 1025
# with the part of Mailpit's HTTP API the smoke test reads (GET /api/v1/messages, /readyz) on
# 8025, and `/mailpit readyz` for the health check.
ARG PYTHON_IMAGE=polaris-offline/python:3.11
FROM ${PYTHON_IMAGE}
RUN pip install --no-cache-dir "aiosmtpd>=1.4"
COPY smtp_sink.py /smtp_sink.py
RUN printf '#!/bin/sh\nexec python /smtp_sink.py "$@"\n' > /mailpit && chmod +x /mailpit
EXPOSE 1025 8025
CMD ["/mailpit"]
