-- Accounts, device sessions, refresh tokens, the revocation log and signing keys.
-- Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    plan          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    device_name     TEXT NOT NULL,
    device_type     TEXT NOT NULL,
    device_model    TEXT,
    app_version     TEXT,
    created_at      BIGINT NOT NULL,
    last_active_at  BIGINT NOT NULL,
    last_ip         TEXT,
    revoked_at      BIGINT,
    revoked_reason  TEXT
);
CREATE INDEX sessions_active_by_account ON sessions(account_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_active_by_last_active ON sessions(last_active_at) WHERE revoked_at IS NULL;

-- Every refresh token ever issued, by hash: a rotated one presented again is theft.
CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id),
    created_at  BIGINT NOT NULL,
    rotated_at  BIGINT
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens(session_id);

-- Durable, ordered record of revocations; nodes catch up from it by seq.
CREATE TABLE revocations (
    seq         BIGSERIAL PRIMARY KEY,
    session_id  TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    private_der  BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);
