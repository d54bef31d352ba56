# The same steps as the README: install the package with its extras, run `monitor`.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN pip install --no-cache-dir '.[postgres,web]'
COPY config ./config
COPY examples ./examples
ENV MONITOR_CONFIG=/app/config
EXPOSE 8080
ENTRYPOINT ["monitor"]
CMD ["run"]
