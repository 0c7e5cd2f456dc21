//! The account's append-only activity history: who did what, from which
//! device, address and place. Events are appended, paged newest first and
//! pruned after the retention period; nothing edits them.

pub mod event;
pub mod http;
pub mod log;
pub mod service;
mod sign_outs;
pub mod views;

// The store names the kind from here.
pub use crate::domain::{ActivityKind, UnknownActivityKind};
pub use event::{ActivityDevice, NewActivity};
pub use service::{Activity, ActivityFilter, ActivityPage};
