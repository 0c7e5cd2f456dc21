//! Bodies of the endpoints outside `/v1`: liveness, readiness and the
//! token-signing keys (`/.well-known/jwks.json`).

use serde::{Deserialize, Serialize};

/// `GET /healthz` answer: the process runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always `"ok"`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schemas::ok))]
    pub status: String,
}

/// `GET /readyz` answer (`200` ready, `503` not ready).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    /// `"ready"` or `"not_ready"`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schemas::readiness))]
    pub status: String,
    /// Whether the store answered.
    pub store: bool,
    /// Whether the event bus answered.
    pub bus: bool,
    /// Whether this node can show it has seen every recent sign-out.
    pub fresh: bool,
    /// How long ago (milliseconds) it last showed it; `null` before it first has.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub proven_ms_ago: Option<i64>,
}

/// `GET /.well-known/jwks.json` answer (RFC 7517): the keys access tokens
/// may be verified with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwks {
    /// The current key, then the retiring ones.
    pub keys: Vec<Jwk>,
}

/// One Ed25519 public key (RFC 8037).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwk {
    /// Always `"OKP"`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schemas::okp))]
    pub kty: String,
    /// Always `"Ed25519"`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schemas::ed25519))]
    pub crv: String,
    /// Always `"EdDSA"`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schemas::eddsa))]
    pub alg: String,
    /// Always `"sig"`.
    #[serde(rename = "use")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schemas::sig))]
    pub key_use: String,
    /// The key id tokens name in their header.
    pub kid: String,
    /// The public key, base64url without padding.
    pub x: String,
}

impl Jwk {
    /// An Ed25519 signature key.
    pub fn ed25519(kid: impl Into<String>, x: impl Into<String>) -> Self {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            alg: "EdDSA".into(),
            key_use: "sig".into(),
            kid: kid.into(),
            x: x.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::assert_round_trip;

    #[test]
    fn bodies_as_the_server_writes_them() {
        let jwks: Jwks = assert_round_trip(
            r#"{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig",
                "kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
        );
        assert_eq!(
            jwks.keys[0],
            Jwk::ed25519("k1", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        );
        let ready: Readiness = assert_round_trip(
            r#"{"status":"ready","store":true,"bus":true,"fresh":true,"proven_ms_ago":12}"#,
        );
        assert!(ready.fresh);
        assert_round_trip::<Health>(r#"{"status":"ok"}"#);
    }
}
