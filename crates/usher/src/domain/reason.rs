//! Why a session ended. Shown to the device and recorded for the owner.

/// The wire type (its spellings are also the stored ones), so the server and
/// its clients cannot disagree on them.
pub use usher_api::SignOutReason;
