-- Streams: one row per playback slot taken. A stream counts against the plan
-- while it has not ended and its lease has not expired; no background job is
-- needed for a missed heartbeat to free the slot.

CREATE TABLE streams (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts(id),
    session_id        TEXT NOT NULL REFERENCES sessions(id),
    title             TEXT NOT NULL,
    profile_id        TEXT,
    started_at        BIGINT NOT NULL,
    lease_expires_at  BIGINT NOT NULL,
    ended_at          BIGINT,
    end_reason        TEXT
);
CREATE INDEX streams_open_by_account ON streams(account_id) WHERE ended_at IS NULL;
CREATE INDEX streams_open_by_lease ON streams(lease_expires_at) WHERE ended_at IS NULL;
-- A device holds at most one slot.
CREATE UNIQUE INDEX streams_open_by_session ON streams(session_id) WHERE ended_at IS NULL;
