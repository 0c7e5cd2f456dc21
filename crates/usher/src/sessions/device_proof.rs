//! Device proofs, after OWASP's "device cookie": every successful sign-in
//! hands the client a proof that it once knew the password, and a client
//! that presents it at a later sign-in is told apart from strangers (see
//! `auth::throttle`): other clients' wrong passwords do not hold it back.
//!
//! A proof is 256 random bits, kept only as SHA-256, bound to the account it
//! was handed for (presented for another account it proves nothing) and
//! valid for `throttle.device_proof_days`. It proves only an earlier
//! sign-in, never grants one: its holder still needs the password, and its
//! own wrong passwords lock it out. A client that presents a valid proof
//! keeps it; any other gets a new one.

use crate::auth::refresh;
use crate::auth::throttle::Proof;
use crate::domain::AccountId;
use crate::error::Result;
use crate::sessions::Sessions;
use crate::store::DeviceProofRecord;

const PREFIX: &str = "udp_";

/// A device proof a client presented that usher handed out and that has
/// not expired.
pub(super) struct PresentedProof {
    token: String,
    hash: String,
    account: AccountId,
}

impl PresentedProof {
    /// What the proof shows for `account`: an earlier sign-in, or nothing.
    pub(super) fn proves(&self, account: Option<AccountId>) -> Option<Proof> {
        (account == Some(self.account)).then(|| Proof::Device(self.hash.clone()))
    }
}

impl Sessions {
    /// The proof a client presented, if it is one.
    pub(super) async fn presented_proof(
        &self,
        token: Option<&str>,
    ) -> Result<Option<PresentedProof>> {
        let Some(token) = token.filter(|t| refresh::looks_prefixed(PREFIX, t)) else {
            return Ok(None);
        };
        let hash = refresh::hash(token);
        let now = self.clock.now();
        let account = self.store.device_proof_account(&hash, now).await?;
        Ok(account.map(|account| PresentedProof {
            token: token.to_owned(),
            hash,
            account,
        }))
    }

    /// The proof to hand a client that just signed in to `account`: the one
    /// it presented, or a new one. `None` if a new one could not be stored
    /// (the sign-in stands; the client proves nothing next time).
    pub(super) async fn device_proof_for(
        &self,
        account: AccountId,
        presented: Option<PresentedProof>,
    ) -> Option<String> {
        if let Some(kept) = presented.filter(|p| p.account == account) {
            return Some(kept.token);
        }
        let (token, hash) = refresh::generate_prefixed(PREFIX);
        let now = self.clock.now();
        let record = DeviceProofRecord {
            hash,
            account_id: account,
            created_at: now,
            expires_at: now.saturating_add(self.device_proof_ms),
        };
        match self.store.insert_device_proof(&record).await {
            Ok(()) => Some(token),
            Err(e) => {
                tracing::warn!(error = %e, "could not store a device proof");
                None
            }
        }
    }

    /// Deletes expired device proofs.
    pub(super) async fn prune_device_proofs(&self) {
        match self.store.prune_device_proofs(self.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(proofs = n, "pruned expired device proofs"),
            Err(e) => tracing::warn!(error = %e, "could not prune device proofs"),
        }
    }
}
