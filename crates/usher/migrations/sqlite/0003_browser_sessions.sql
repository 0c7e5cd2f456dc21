-- Browser sessions authenticate with a non-rotating secret, kept only as SHA-256.
ALTER TABLE sessions ADD COLUMN web_secret_hash TEXT;
