//! The database file holds password and token hashes and the signing keys:
//! only usher's user may read it. Its directory is made 0700 and the file
//! and its `-wal` and `-shm` companions 0600, and wider permissions found
//! at start-up are tightened (and logged). The file is created here, 0600,
//! before SQLite opens it, because SQLite gives its companions the mode of
//! the database file; no umask is changed (it is the whole process's).

use std::path::Path;

/// Readies `path`'s directory and files before SQLite opens it.
#[cfg(unix)]
pub(super) fn secure(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if dir.exists() {
            tighten_directory(dir);
        } else {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => tighten(path, 0o600),
        Err(e) => return Err(e.into()),
    }
    for suffix in ["-wal", "-shm"] {
        let mut companion = path.as_os_str().to_owned();
        companion.push(suffix);
        let companion = Path::new(&companion);
        if companion.exists() {
            tighten(companion, 0o600);
        }
    }
    Ok(())
}

#[cfg(not(unix))]
pub(super) fn secure(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    Ok(())
}

/// A directory shared on purpose (sticky, like `/tmp`) is left alone: the
/// database should have a directory of its own, and this says so.
#[cfg(unix)]
fn tighten_directory(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(dir) else {
        return;
    };
    if meta.permissions().mode() & 0o1000 != 0 {
        tracing::warn!(
            directory = %dir.display(),
            "the database is in a shared directory; give it a directory of its own"
        );
        return;
    }
    tighten(dir, 0o700);
}

/// Takes from `path` every permission `allowed` does not grant, logging it.
/// A failure (a file of another user) is logged, not fatal: the operator
/// may have reasons, and SQLite says so itself if it cannot open the file.
#[cfg(unix)]
fn tighten(path: &Path, allowed: u32) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o7777;
    if mode & !allowed == 0 {
        return;
    }
    let tightened = mode & allowed;
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(tightened)) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            from = format!("{mode:o}"),
            to = format!("{tightened:o}"),
            "tightened the permissions of the database"
        ),
        Err(e) => tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:o}"),
            error = %e,
            "the database is readable by other users and its permissions could not be tightened"
        ),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_new_database_is_private() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("data/usher.db");
        secure(&path).unwrap();
        assert_eq!(mode(&root.path().join("data")), 0o700);
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn wider_permissions_are_tightened_and_a_shared_directory_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("usher.db");
        let wal = dir.join("usher.db-wal");
        for file in [&path, &wal] {
            std::fs::write(file, b"").unwrap();
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o664)).unwrap();
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        secure(&path).unwrap();
        assert_eq!((mode(&dir), mode(&path), mode(&wal)), (0o700, 0o600, 0o600));

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
        secure(&path).unwrap();
        assert_eq!(mode(&dir), 0o1777);
    }
}
