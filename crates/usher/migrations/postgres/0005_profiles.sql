-- Profiles: up to five viewers per account, one of them the default; a
-- profile may be locked with a PIN (kept only as an Argon2id hash).
CREATE TABLE profiles (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    name        TEXT NOT NULL,
    pin_hash    TEXT,
    is_default  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);
CREATE INDEX profiles_by_account ON profiles(account_id);
CREATE UNIQUE INDEX profiles_one_default ON profiles(account_id) WHERE is_default = 1;

-- The profile a device is on; NULL while it must pick one.
ALTER TABLE sessions ADD COLUMN profile_id TEXT;
CREATE INDEX sessions_by_profile ON sessions(profile_id) WHERE profile_id IS NOT NULL;
CREATE INDEX streams_open_by_profile ON streams(profile_id) WHERE ended_at IS NULL;

-- "Require the default profile's PIN to add profiles" (only while it is locked).
ALTER TABLE accounts ADD COLUMN profile_add_requires_pin BIGINT NOT NULL DEFAULT 0;

-- Every existing account gets its default profile, named after the email's
-- local part, and its signed-in devices are put on it.
INSERT INTO profiles (id, account_id, name, pin_hash, is_default, created_at)
    SELECT 'prf_' || replace(gen_random_uuid()::text, '-', ''), id,
           left(split_part(email, '@', 1), 50), NULL, 1, created_at
    FROM accounts;
UPDATE sessions SET profile_id =
    (SELECT p.id FROM profiles p WHERE p.account_id = sessions.account_id AND p.is_default = 1)
    WHERE revoked_at IS NULL;
