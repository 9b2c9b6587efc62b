//! The content-addressed file store every uploaded or received file lives in: a ticket
//! message's attachments (`helpdesk::ticket_mail`) and a job's photos and files
//! (`field_service::files`). Bytes are kept once under `<data_dir>/attachments/<ab>/<sha256>`,
//! whoever refers to them; the rows that do (`ticket_attachments`, `job_files`) are counted in
//! `attachment_blobs` by triggers, so a file is deleted only when no row of any workspace refers
//! to it any more ([`remove_files`], after the commit that deleted the rows). Backups take the
//! whole folder (`backup::create`).

use holdfast_store::Db;
use holdfast_store::privacy as store;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Where a file's bytes live: `<data_dir>/attachments/<first two hex>/<sha256>`.
pub fn attachment_path(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir
        .join("attachments")
        .join(sha256.get(..2).unwrap_or("00"))
        .join(sha256)
}

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum StoreFileError {
    /// The computed path has no folder (never for a SHA-256 under a data dir).
    #[error("attachment path has no parent")]
    NoParent,
    /// The disk refused (full, permissions): worth another try later.
    #[error("attachment {what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
}

/// Writes `bytes` under their SHA-256 (unless a file with that digest is there already) and
/// returns the digest as lower-case hex. The file appears under its name only when complete
/// (written beside it, then renamed), so a reader never sees half a file; a leftover written
/// for a row that was never committed is harmless. Blocking: call it off the async runtime
/// for large files ([`store_attachment_async`]).
pub fn store_attachment(data_dir: &Path, bytes: &[u8]) -> Result<String, StoreFileError> {
    let sha = hex(&Sha256::digest(bytes));
    let path = attachment_path(data_dir, &sha);
    if path.exists() {
        return Ok(sha);
    }
    let dir = path.parent().ok_or(StoreFileError::NoParent)?;
    std::fs::create_dir_all(dir).map_err(|source| StoreFileError::Io {
        what: "dir",
        source,
    })?;
    let tmp = dir.join(format!("{sha}.{}.tmp", holdfast_core::token::random_hex(6)));
    std::fs::write(&tmp, bytes).map_err(|source| StoreFileError::Io {
        what: "write",
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| StoreFileError::Io {
        what: "rename",
        source,
    })?;
    Ok(sha)
}

/// [`store_attachment`] on the blocking pool, for a request handler holding many megabytes.
pub async fn store_attachment_async(
    data_dir: PathBuf,
    bytes: Vec<u8>,
) -> Result<String, StoreFileError> {
    tokio::task::spawn_blocking(move || store_attachment(&data_dir, &bytes))
        .await
        .map_err(|e| StoreFileError::Io {
            what: "write task",
            source: std::io::Error::other(e.to_string()),
        })?
}

/// A stored file's bytes; `None` when the file is missing on this server (logged by the
/// caller: a row whose file is gone is an operator's matter, never a client's).
pub async fn read_attachment(data_dir: &Path, sha256: &str) -> std::io::Result<Vec<u8>> {
    tokio::fs::read(attachment_path(data_dir, sha256)).await
}

/// After the commit that deleted rows referring to `blobs`: deletes the files no row (of any
/// workspace, ticket attachment or job file) refers to any more; returns how many went. A
/// failure is logged, never undone: the rows are gone.
pub async fn remove_files(db: &Db, data_dir: &Path, blobs: &[String]) -> usize {
    let released = match store::unscoped_release_blobs(db, blobs).await {
        Ok(released) => released,
        Err(e) => {
            tracing::warn!(error = %e, "releasing attachment files failed; they stay on disk");
            return 0;
        }
    };
    let mut removed = 0;
    for sha in &released {
        let path = attachment_path(data_dir, sha);
        match std::fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, "deleting an attachment file failed"),
        }
    }
    removed
}

/// The SHA-256 of `bytes`, lower-case hex.
pub fn sha256_of(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_kept_once_under_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let sha = store_attachment(dir.path(), b"hello").unwrap();
        assert_eq!(
            sha,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let path = attachment_path(dir.path(), &sha);
        assert!(path.ends_with(format!("attachments/2c/{sha}")));
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        // The same bytes again: the same file, nothing left beside it.
        assert_eq!(store_attachment(dir.path(), b"hello").unwrap(), sha);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(names.len(), 1);
    }
}
