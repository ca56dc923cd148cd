FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY tasktrack ./tasktrack
COPY migrations ./migrations
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 8008
CMD ["tasktrack", "serve", "--host", "0.0.0.0", "--port", "8008"]
