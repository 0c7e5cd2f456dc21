//! Argon2id hashing on a small pool of dedicated, low-priority threads.
//!
//! Hashing is deliberately expensive (about 20 ms and 19 MiB at OWASP's
//! parameters). Run on the async runtime it would stall every other request;
//! run on tokio's blocking pool a sign-in flood would start hundreds of
//! threads and hundreds of MiB. A fixed pool bounds both, and its threads run
//! at a lower priority (nice 10) so that on a busy core the scheduler prefers
//! the threads that answer session checks.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::oneshot;

use crate::config::HashingConfig;

type Job = Box<dyn FnOnce(&Argon2<'static>) + Send>;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Too many hashes are waiting; the caller should retry shortly.
    #[error("password hashing is overloaded")]
    Overloaded,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// Cloneable handle to the hashing pool.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: SyncSender<Job>,
    /// A hash of a random password, verified against when the email is
    /// unknown so that a wrong email costs as long as a wrong password.
    decoy: Arc<str>,
}

impl PasswordHasher {
    pub fn start(config: &HashingConfig) -> anyhow::Result<Self> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let (jobs, rx) = sync_channel::<Job>(config.queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            let params = params.clone();
            std::thread::Builder::new()
                .name(format!("usher-hash-{i}"))
                .spawn(move || {
                    worker(rx, Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
                })?;
        }
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let decoy = hash_with(&argon, &uuid::Uuid::new_v4().to_string())?;
        Ok(Self {
            jobs,
            decoy: decoy.into(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |argon| {
            let _ = tx.send(job(argon));
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(HashError::Overloaded),
            Err(TrySendError::Disconnected(_)) => {
                return Err(HashError::Failed("hashing pool stopped".into()))
            }
        }
        rx.await
            .map_err(|_| HashError::Failed("hashing thread panicked".into()))
    }

    /// Hashes a new password into a PHC string (`$argon2id$v=19$m=…`).
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move |argon| {
            hash_with(argon, &password).map_err(|e| HashError::Failed(e.to_string()))
        })
        .await?
    }

    /// Checks a password against a stored PHC string (whose own parameters apply).
    /// With no stored hash, checks against the decoy and returns false.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.decoy.to_string());
        self.run(move |argon| {
            let ok = PasswordHash::new(&phc)
                .map(|parsed| argon.verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false);
            ok && known
        })
        .await
    }
}

fn hash_with(argon: &Argon2<'_>, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

fn worker(rx: Arc<Mutex<Receiver<Job>>>, argon: Argon2<'static>) {
    // SAFETY: setpriority has no memory-safety preconditions; on Linux, with
    // PRIO_PROCESS and who = 0 it applies to the calling thread only.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
    loop {
        let job = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(&argon),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> HashingConfig {
        HashingConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            threads: 1,
            queue: 8,
        }
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let hasher = PasswordHasher::start(&small()).unwrap();
        let phc = hasher.hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(hasher
            .verify("correct horse battery".into(), Some(phc.clone()))
            .await
            .unwrap());
        assert!(!hasher
            .verify("wrong horse battery".into(), Some(phc))
            .await
            .unwrap());
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
    }
}
