-- Proofs of a successful sign-in handed to devices (OWASP's "device
-- cookie"), kept only as SHA-256: a client that carries one is not held back
-- by other clients' wrong passwords for its account.
CREATE TABLE device_proofs (
    proof_hash  TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX device_proofs_by_expiry ON device_proofs(expires_at);
