//! The token-signing keys of a [`TestApp`]: the operator's commands (`usher
//! keys …`, through the same services) and the keys as a copy of the
//! database holds them.

use std::collections::BTreeSet;

use usher::sessions::keys::{RetireOutcome, RevokeOutcome, SigningKey};
use usher::store::SigningKeyRecord;
use usher_client::Method;

use crate::{answer_to, TestApp};

impl TestApp {
    /// `usher keys list`.
    pub async fn signing_keys(&self) -> Vec<SigningKey> {
        let sessions = &self.operator().sessions;
        sessions.signing_keys().await.expect("the keys are listed")
    }

    /// The current key's id.
    pub async fn current_key(&self) -> String {
        self.signing_keys()
            .await
            .into_iter()
            .find(|k| k.state.name() == "current")
            .expect("a current key")
            .kid
    }

    /// `usher keys rotate`: the new key's id.
    pub async fn rotate_keys(&self) -> String {
        let sessions = &self.operator().sessions;
        sessions.rotate_signing_key().await.expect("rotated")
    }

    /// `usher keys retire KID`.
    pub async fn retire_key(&self, kid: &str) -> RetireOutcome {
        let sessions = &self.operator().sessions;
        sessions.retire_signing_key(kid).await.expect("retire ran")
    }

    /// `usher keys revoke KID`.
    pub async fn revoke_key(&self, kid: &str) -> RevokeOutcome {
        let sessions = &self.operator().sessions;
        sessions.revoke_signing_key(kid).await.expect("revoke ran")
    }

    /// The keys' rows, as anyone with a copy of the database has them.
    pub async fn stored_signing_keys(&self) -> Vec<SigningKeyRecord> {
        let store = usher::store::open(&self.config().database_url())
            .await
            .expect("the database opens");
        store.signing_keys().await.expect("the keys are read")
    }

    /// The `kid`s `/.well-known/jwks.json` publishes.
    pub async fn published_keys(&self) -> BTreeSet<String> {
        let jwks = answer_to(&self.client(), Method::GET, "/.well-known/jwks.json", None)
            .await
            .json()
            .expect("JSON");
        jwks["keys"]
            .as_array()
            .expect("a key list")
            .iter()
            .map(|k| k["kid"].as_str().expect("a kid").to_owned())
            .collect()
    }
}
