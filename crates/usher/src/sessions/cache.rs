//! Every active session a node has seen, in memory, so the per-request check
//! never touches the database.
//!
//! A session is loaded from the store the first time a node sees it and stays
//! until it is revoked. Revocation replaces the entry with a tombstone *before*
//! the revoking call returns, and a load never overwrites an existing entry
//! (`or_insert`), so a load that read the store just before a revocation
//! committed cannot resurrect the session. Tombstones outlive every access
//! token that could name the session, then are pruned.
//!
//! Last-seen details (`last_active_at`, last address) are recorded in memory on every
//! use and written in periodic batches from the dirty list, at a coarse
//! resolution: a session is queued again only when its last written time is
//! `resolution` old or its address changed. A device checked thousands of
//! times a minute costs one write a minute, and the single SQLite writer is
//! never busy long enough to delay a revocation.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use dashmap::DashMap;

use crate::domain::{AccountId, DeviceInfo, Millis, ProfileId, SessionId};
use crate::store::{LastSeenUpdate, Revocation, SessionRecord};

/// A session as the node keeps it.
pub struct CachedSession {
    pub id: SessionId,
    pub account_id: AccountId,
    pub created_at: Millis,
    /// SHA-256 of a browser session's cookie secret.
    pub web_secret_hash: Option<String>,
    device: RwLock<Arc<DeviceInfo>>,
    /// The profile the device is on, for showing it. (Admission reads the
    /// store, never this: a stale copy only shows, it never admits.)
    profile: RwLock<Option<ProfileId>>,
    revoked: OnceLock<Revocation>,
    last_active: AtomicI64,
    /// `last_active` as last written to (or read from) the store.
    written: AtomicI64,
    ip: Mutex<Option<IpAddr>>,
    dirty: AtomicBool,
}

impl CachedSession {
    fn from_record(record: SessionRecord) -> Self {
        let revoked = OnceLock::new();
        if let Some(r) = record.revoked {
            let _ = revoked.set(r);
        }
        Self {
            id: record.id,
            account_id: record.account_id,
            created_at: record.created_at,
            web_secret_hash: record.web_secret_hash,
            device: RwLock::new(Arc::new(record.device)),
            profile: RwLock::new(record.profile.map(|p| p.id)),
            revoked,
            last_active: AtomicI64::new(record.last_active_at),
            written: AtomicI64::new(record.last_active_at),
            ip: Mutex::new(record.last_ip),
            dirty: AtomicBool::new(false),
        }
    }

    pub fn device(&self) -> Arc<DeviceInfo> {
        Arc::clone(&self.device.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(super) fn set_device(&self, device: DeviceInfo) {
        *self.device.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(device);
    }

    pub fn profile(&self) -> Option<ProfileId> {
        *self.profile.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn set_profile(&self, profile: Option<ProfileId>) {
        *self.profile.write().unwrap_or_else(|e| e.into_inner()) = profile;
    }

    /// Takes the device off `profile` if it is still on it (a later switch
    /// to another profile stands).
    pub(super) fn leave_profile(&self, profile: ProfileId) -> bool {
        let mut current = self.profile.write().unwrap_or_else(|e| e.into_inner());
        if *current != Some(profile) {
            return false;
        }
        *current = None;
        true
    }

    pub fn revoked(&self) -> Option<Revocation> {
        self.revoked.get().copied()
    }

    pub fn last_active(&self) -> Millis {
        self.last_active.load(Ordering::Relaxed)
    }

    pub fn last_ip(&self) -> Option<IpAddr> {
        *self.ip.lock().unwrap_or_else(|e| e.into_inner())
    }
}

enum Slot {
    Active(Arc<CachedSession>),
    Revoked(Revocation, TombstoneSecret),
}

/// What a tombstone knows of its session's browser secret, so that only
/// the browser holding it learns why it was signed out.
#[derive(Clone)]
pub enum TombstoneSecret {
    /// The node learned of the sign-out without the session (from the bus).
    NotLoaded,
    /// Not a browser session.
    None,
    /// SHA-256 of the browser session's cookie secret.
    Hash(String),
}

impl TombstoneSecret {
    fn of(web_secret_hash: Option<&String>) -> Self {
        web_secret_hash.map_or(Self::None, |h| Self::Hash(h.clone()))
    }
}

/// What the cache knows about a session id.
pub enum Lookup {
    Active(Arc<CachedSession>),
    Revoked(Revocation),
    Unknown,
}

pub struct SessionCache {
    /// foldhash rather than SipHash: every authenticated request looks a
    /// session up here, and its ids are the server's own random UUIDs.
    slots: DashMap<SessionId, Slot, foldhash::quality::RandomState>,
    dirty: Mutex<Vec<Arc<CachedSession>>>,
    resolution: Millis,
}

impl SessionCache {
    /// A cache that writes a session's last-seen time at most every `resolution`
    /// ms (sooner when its address changes).
    pub fn new(resolution: Millis) -> Self {
        Self {
            slots: DashMap::default(),
            dirty: Mutex::default(),
            resolution,
        }
    }

    pub fn lookup(&self, id: SessionId) -> Lookup {
        match self.slots.get(&id).as_deref() {
            Some(Slot::Active(s)) => Lookup::Active(Arc::clone(s)),
            Some(Slot::Revoked(r, _)) => Lookup::Revoked(*r),
            None => Lookup::Unknown,
        }
    }

    /// The browser secret a tombstone keeps (`None` when there is no tombstone).
    pub(super) fn tombstone_secret(&self, id: SessionId) -> Option<TombstoneSecret> {
        match self.slots.get(&id).as_deref() {
            Some(Slot::Revoked(_, secret)) => Some(secret.clone()),
            _ => None,
        }
    }

    /// Caches a session read from the store, unless the node already knows
    /// better (an entry or a tombstone is there); a tombstone that did not
    /// know the session's browser secret learns it.
    pub(super) fn insert_loaded(&self, record: SessionRecord) -> Lookup {
        let id = record.id;
        let secret = TombstoneSecret::of(record.web_secret_hash.as_ref());
        let mut slot = self
            .slots
            .entry(id)
            .or_insert_with(|| match record.revoked {
                Some(r) => Slot::Revoked(r, secret.clone()),
                None => Slot::Active(Arc::new(CachedSession::from_record(record))),
            });
        if let Slot::Revoked(_, known @ TombstoneSecret::NotLoaded) = &mut *slot {
            *known = secret;
        }
        match &*slot {
            Slot::Active(s) => Lookup::Active(Arc::clone(s)),
            Slot::Revoked(r, _) => Lookup::Revoked(*r),
        }
    }

    /// Ends a session on this node: from now on every check refuses it.
    pub(super) fn mark_revoked(&self, id: SessionId, revocation: Revocation) {
        let mut slot = self
            .slots
            .entry(id)
            .or_insert_with(|| Slot::Revoked(revocation, TombstoneSecret::NotLoaded));
        if let Slot::Active(previous) = &*slot {
            // Anyone still holding the entry (a live connection) sees it too.
            let _ = previous.revoked.set(revocation);
            let secret = TombstoneSecret::of(previous.web_secret_hash.as_ref());
            *slot = Slot::Revoked(revocation, secret);
        } else if let Slot::Revoked(r, _) = &mut *slot {
            *r = revocation;
        }
    }

    /// Records a use of the session; written to the store by the next last-seen flush.
    pub(super) fn touch(&self, session: &Arc<CachedSession>, now: Millis, ip: Option<IpAddr>) {
        session.last_active.fetch_max(now, Ordering::Relaxed);
        let mut moved = false;
        if let Some(ip) = ip {
            let mut current = session.ip.lock().unwrap_or_else(|e| e.into_inner());
            if *current != Some(ip) {
                *current = Some(ip);
                moved = true;
            }
        }
        let stale = now - session.written.load(Ordering::Relaxed) >= self.resolution;
        if (moved || stale) && !session.dirty.swap(true, Ordering::AcqRel) {
            self.dirty
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Arc::clone(session));
        }
    }

    /// Takes the sessions used since the last call, as one batch of updates.
    pub(super) fn take_last_seen(&self) -> Vec<LastSeenUpdate> {
        let dirty = std::mem::take(&mut *self.dirty.lock().unwrap_or_else(|e| e.into_inner()));
        dirty
            .into_iter()
            .map(|s| {
                // Clear first: a use racing with this flush re-queues the session.
                s.dirty.store(false, Ordering::Release);
                let last_active_at = s.last_active();
                s.written.store(last_active_at, Ordering::Relaxed);
                LastSeenUpdate {
                    session_id: s.id,
                    last_active_at,
                    ip: s.last_ip(),
                }
            })
            .collect()
    }

    /// Puts updates back after a failed write so they are retried.
    pub(super) fn requeue(&self, updates: &[LastSeenUpdate]) {
        for u in updates {
            if let Lookup::Active(s) = self.lookup(u.session_id) {
                if !s.dirty.swap(true, Ordering::AcqRel) {
                    self.dirty.lock().unwrap_or_else(|e| e.into_inner()).push(s);
                }
            }
        }
    }

    /// Forgets tombstones older than `before`.
    pub(super) fn prune_tombstones(&self, before: Millis) {
        self.slots.retain(|_, slot| match slot {
            Slot::Revoked(r, _) => r.at >= before,
            Slot::Active(_) => true,
        });
    }

    /// Active sessions held, for metrics.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}
