-- The account's append-only activity history, what each account has been
-- seen signing in with (for new-country / new-device-type alerts), the alerts
-- themselves, and the durable outbox their webhooks are delivered from.

CREATE TABLE activity (
    id           TEXT PRIMARY KEY,   -- evt_…, UUIDv7: sorts by time; the page cursor
    account_id   TEXT NOT NULL,
    at           INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    session_id   TEXT,
    device_name  TEXT,
    device_type  TEXT,
    ip           TEXT,
    location     TEXT,               -- JSON
    detail       TEXT NOT NULL       -- JSON
);
CREATE INDEX activity_by_account ON activity(account_id, id);
CREATE INDEX activity_by_account_kind ON activity(account_id, kind, id);
CREATE INDEX activity_by_time ON activity(at);

CREATE TABLE account_seen (
    account_id  TEXT NOT NULL,
    attribute   TEXT NOT NULL,       -- 'country' or 'device_type'
    value       TEXT NOT NULL,
    first_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, attribute, value)
);

CREATE TABLE alerts (
    id            TEXT PRIMARY KEY,  -- the evt_… id of its activity event
    account_id    TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    at            INTEGER NOT NULL,
    body          TEXT NOT NULL,     -- JSON, as delivered to the webhook
    dismissed_at  INTEGER
);
CREATE INDEX alerts_open_by_account ON alerts(account_id) WHERE dismissed_at IS NULL;

CREATE TABLE webhook_outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id         TEXT NOT NULL,
    body             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    claimed_until    INTEGER NOT NULL DEFAULT 0,
    delivered_at     INTEGER,
    failed_at        INTEGER,
    last_error       TEXT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox(next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
