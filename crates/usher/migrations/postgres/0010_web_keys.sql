-- Keys of the account pages that every node shares (not token-signing keys):
-- the sign-in form's CSRF token is a MAC under `sign_in_csrf`, so a form one
-- node served is accepted by another. The first node that needs a key stores
-- it; every other reads that one.
CREATE TABLE web_keys (
    name        TEXT PRIMARY KEY,
    secret      TEXT NOT NULL,     -- base64url of 256 random bits
    created_at  BIGINT NOT NULL
);
