# clipbot as a container: `docker build -t clipbot .` then `docker run --rm clipbot demo`.
# Mount a volume on /data to keep the SQLite database, or set DATABASE_URL for PostgreSQL.
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 clipbot
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && mkdir /data && chown clipbot /data

USER clipbot
ENV CLIPBOT_DATA_DIR=/data
VOLUME ["/data"]
ENTRYPOINT ["clipbot"]
CMD ["--help"]
