//! Session ids the store does not know, remembered so that a browser cookie
//! naming one (guessed, forged, or of a session long gone) costs a database
//! read once, not every time it is presented.
//!
//! An id the store does not have never appears there later: ids are random,
//! and a session is committed before its cookie is handed out. So an entry
//! needs no expiry; the memory is capped instead (S3-FIFO keeps ids asked for
//! again), and an id pushed out costs one more read.

use quick_cache::sync::Cache;

use crate::domain::SessionId;

/// Ids remembered at most (about 1 MiB).
pub const CAPACITY: usize = 16_384;

pub struct UnknownSessions {
    ids: Cache<SessionId, ()>,
}

impl UnknownSessions {
    pub fn new(capacity: usize) -> Self {
        Self {
            ids: Cache::new(capacity),
        }
    }

    /// Notes that the store has no session `id`.
    pub fn remember(&self, id: SessionId) {
        self.ids.insert(id, ());
    }

    /// Whether the store is known to have no session `id`.
    pub fn contains(&self, id: SessionId) -> bool {
        self.ids.get(&id).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_id_is_remembered_and_the_memory_stays_bounded() {
        let unknown = UnknownSessions::new(100);
        let forged = SessionId::new();
        assert!(!unknown.contains(forged), "not until the store said so");
        unknown.remember(forged);
        assert!(unknown.contains(forged));
        assert!(!unknown.contains(SessionId::new()), "only that id");

        // A flood of other ids: at most the capacity is kept.
        let flood: Vec<SessionId> = (0..10_000).map(|_| SessionId::new()).collect();
        for id in &flood {
            unknown.remember(*id);
        }
        let kept = flood.iter().filter(|id| unknown.contains(**id)).count();
        assert!(
            kept as u64 <= unknown.ids.capacity(),
            "{kept} of the flood kept"
        );
        assert!(unknown.ids.len() as u64 <= unknown.ids.capacity());
    }
}
