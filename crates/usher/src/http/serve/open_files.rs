//! The open-file limit: every connection is a file descriptor, and the soft
//! limit a service starts with (often 1024) would cap it far below what it
//! can hold.

use std::io;

/// The soft open-file limit before and after raising it, and the hard one.
#[derive(Debug, Clone, Copy)]
pub struct OpenFiles {
    pub before: u64,
    pub now: u64,
    pub hard: u64,
}

/// Raises the soft open-file limit as far as the hard limit allows.
pub fn raise_open_file_limit() -> io::Result<OpenFiles> {
    let (before, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    let now = rlimit::increase_nofile_limit(u64::MAX)?;
    Ok(OpenFiles { before, now, hard })
}

/// The soft open-file limit in force (`u64::MAX` when unlimited), when it
/// can be read.
pub fn open_file_limit() -> Option<u64> {
    rlimit::getrlimit(rlimit::Resource::NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}
