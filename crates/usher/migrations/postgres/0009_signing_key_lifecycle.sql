-- Signing keys have a life: a key signs until `retired_at` and is trusted
-- for the tokens it signed until they have all expired; `revoked_at` ends
-- trust at once (and the private key is erased). `sealed_nonce` is set when
-- `private_der` is sealed under the key-encryption key (XChaCha20-Poly1305,
-- the kid as associated data); NULL means it is plain PKCS#8 DER.
ALTER TABLE signing_keys ADD COLUMN retired_at BIGINT;
ALTER TABLE signing_keys ADD COLUMN revoked_at BIGINT;
ALTER TABLE signing_keys ADD COLUMN sealed_nonce BYTEA;

-- Before this, the newest key signed and the others only verified: each
-- older key stopped signing when the next one was added.
UPDATE signing_keys SET retired_at = (
    SELECT MIN(n.created_at) FROM signing_keys n
    WHERE n.created_at > signing_keys.created_at
       OR (n.created_at = signing_keys.created_at AND n.kid > signing_keys.kid)
);

-- Revoking a key ends the sessions that were issued a token while it signed.
CREATE INDEX refresh_tokens_by_created_at ON refresh_tokens(created_at);
