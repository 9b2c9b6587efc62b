//! Encrypted backups: one file per backup, `holdfast-<UTC time>.tar.zst.age`, a tar archive
//! compressed with zstd and encrypted with age to X25519 recipients only, so whatever writes a
//! backup (this server) cannot read it back. The archive holds `manifest.json` first (format,
//! Holdfast and schema versions, backend, time, rows per table, the size and SHA-256 of every
//! other part), then the database (`database/holdfast.sqlite`, a `VACUUM INTO` snapshot; or
//! `database/<table>.jsonl`, PostgreSQL's tables read in one repeatable-read transaction),
//! then the attachment files (`attachments/<ab>/<sha256>`). The master key is never in it.
//!
//! Plaintext exists only in a private (0700) staging folder in the data dir while a backup is
//! made, and in one beside the target while one is read; both are removed when done. Reading
//! (`open`) checks every part against the manifest before anything else looks at it; `check`
//! then opens the snapshot (SQLite's integrity check, or every PostgreSQL row parsed), compares
//! the rows with the manifest and verifies every workspace's audit chain. Restoring
//! (`restore`) refuses a target that holds anything, and writes nothing until all of that passed.
//! The worker's daily run, rotation and staleness: `schedule`.

// X25519 (`age1…`) recipients, which age 0.13 marks deprecated in favour of its post-quantum
// hybrid ones: they are what operators' age tools read today (Debian's age 1.1 knows no other).
#![allow(deprecated)]

pub mod schedule;

use holdfast_core::ops::audit::AuditEntry;
use holdfast_store::ops::backup::{self as store, PostgresLoad, Snapshot};
use holdfast_store::{Backend, Db, ops::admin};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

/// The archive layout's version; readers refuse a newer one.
pub const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const SQLITE_PART: &str = "database/holdfast.sqlite";
/// Backups this instance writes are named `holdfast-…` + this.
pub const SUFFIX: &str = ".tar.zst.age";
/// Rows per insert when loading PostgreSQL.
const LOAD_BATCH: usize = 500;

/// What a backup holds, written first in the archive.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: u32,
    pub holdfast_version: String,
    /// `sqlite` or `postgres`: where it came from and what it restores into.
    pub backend: String,
    /// The newest migration applied to the database it came from.
    pub schema_version: i64,
    pub created_at_ms: i64,
    pub created_at: String,
    /// Rows per table; for PostgreSQL in load order (parents first).
    pub tables: Vec<TableRows>,
    /// Every part after the manifest, in archive order.
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableRows {
    pub table: String,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Part {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    pub fn attachments(&self) -> usize {
        self.parts
            .iter()
            .filter(|p| p.path.starts_with("attachments/"))
            .count()
    }

    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.tables
            .iter()
            .map(|t| (t.table.clone(), t.rows))
            .collect()
    }
}

/// A backup written: where, how big, how long it took, what it holds.
#[derive(Debug, Clone)]
pub struct Created {
    pub path: PathBuf,
    pub bytes: u64,
    pub millis: u64,
    pub manifest: Manifest,
}

/// `age1…` X25519 public keys, each checked.
pub fn recipients(keys: &[String]) -> Result<Vec<age::x25519::Recipient>, String> {
    if keys.is_empty() {
        return Err(
            "no backup recipient: pass --backup-recipient age1… (repeatable) or set \
                    backup_recipients in the configuration; the matching identity (private key) \
                    belongs off this machine"
                .into(),
        );
    }
    keys.iter()
        .map(|k| {
            age::x25519::Recipient::from_str(k.trim()).map_err(|e| {
                format!(
                    "backup recipient {:?} is not an age X25519 public key (age1…): {e}",
                    k
                )
            })
        })
        .collect()
}

/// The X25519 identities (`AGE-SECRET-KEY-1…` lines; `#` comments and blank lines skipped) of
/// an identity file, as `age-keygen` writes it.
pub fn identities(path: &Path) -> Result<Vec<age::x25519::Identity>, String> {
    let text = fs::read_to_string(path)
        .map_err(|e| format!("cannot read the identity file {}: {e}", path.display()))?;
    let keys: Vec<age::x25519::Identity> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            age::x25519::Identity::from_str(l).map_err(|_| {
                format!(
                    "the identity file {} holds a line that is not an age X25519 secret key \
                     (AGE-SECRET-KEY-1…)",
                    path.display()
                )
            })
        })
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err(format!(
            "the identity file {} holds no age secret key",
            path.display()
        ));
    }
    Ok(keys)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn file_part(path: &str, file: &Path) -> Result<Part, String> {
    let mut reader =
        File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(Part {
        path: path.to_owned(),
        bytes,
        sha256: hex(&hasher.finalize()),
    })
}

/// `holdfast-20261207T021500Z.tar.zst.age` for a UTC millisecond time.
pub fn file_name(now_ms: i64) -> String {
    let stamp: String = holdfast_core::webhooks::rfc3339_ms(now_ms)
        .chars()
        .take(19)
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    format!("holdfast-{stamp}Z{SUFFIX}")
}

/// The attachment files under the data dir (`attachments/<ab>/<sha256>`), as archive paths.
fn attachment_files(data_dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let root = data_dir.join("attachments");
    let mut found = Vec::new();
    let Ok(shards) = fs::read_dir(&root) else {
        return Ok(found);
    };
    for shard in shards.flatten() {
        let shard_name = shard.file_name().to_string_lossy().into_owned();
        let Ok(files) = fs::read_dir(shard.path()) else {
            continue;
        };
        for file in files.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            // Content-addressed files only; a `.tmp` is a write in progress.
            if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                found.push((format!("attachments/{shard_name}/{name}"), file.path()));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Makes a backup of the running instance into `to_dir`: the snapshot, the attachments, the
/// manifest, compressed and encrypted to `recipients`. The file appears under its final name
/// only when complete.
pub async fn create(
    db: &Db,
    data_dir: &Path,
    to_dir: &Path,
    recipients: &[age::x25519::Recipient],
    now_ms: i64,
) -> Result<Created, String> {
    if recipients.is_empty() {
        return Err(self::recipients(&[]).err().unwrap_or_default());
    }
    let started = std::time::Instant::now();
    fs::create_dir_all(to_dir)
        .map_err(|e| format!("cannot create the backup folder {}: {e}", to_dir.display()))?;
    fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot use the data dir {}: {e}", data_dir.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".backup-")
        .tempdir_in(data_dir)
        .map_err(|e| {
            format!(
                "cannot make a staging folder in {}: {e}",
                data_dir.display()
            )
        })?;
    let (tables, mut files) = match db.backend() {
        Backend::Sqlite => snapshot_sqlite(db, staging.path()).await?,
        Backend::Postgres => dump_postgres(db, staging.path()).await?,
    };
    files.extend(attachment_files(data_dir)?);
    let schema_version = store::schema_version(db).await.map_err(|e| e.to_string())?;
    let parts = files
        .iter()
        .map(|(path, file)| file_part(path, file))
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = Manifest {
        format: FORMAT,
        holdfast_version: env!("CARGO_PKG_VERSION").to_owned(),
        backend: db.backend().name().to_owned(),
        schema_version,
        created_at_ms: now_ms,
        created_at: holdfast_core::webhooks::rfc3339_ms(now_ms),
        tables,
        parts,
    };
    let target = to_dir.join(file_name(now_ms));
    let recipients = recipients.to_vec();
    let written = {
        let manifest = manifest.clone();
        let target = target.clone();
        tokio::task::spawn_blocking(move || write_archive(&manifest, &files, &recipients, &target))
            .await
            .map_err(|e| format!("the backup writer stopped: {e}"))??
    };
    drop(staging);
    Ok(Created {
        path: target,
        bytes: written,
        millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        manifest,
    })
}

type Files = Vec<(String, PathBuf)>;

async fn snapshot_sqlite(db: &Db, staging: &Path) -> Result<(Vec<TableRows>, Files), String> {
    let file = staging.join("holdfast.sqlite");
    store::unscoped_sqlite_snapshot(db, &file)
        .await
        .map_err(|e| format!("cannot snapshot the database: {e}"))?;
    let snapshot = Snapshot::open(&file)
        .await
        .map_err(|e| format!("cannot open the snapshot: {e}"))?;
    let counts = snapshot.counts().await.map_err(|e| e.to_string())?;
    snapshot.close().await;
    let tables = counts
        .into_iter()
        .map(|(table, rows)| TableRows { table, rows })
        .collect();
    Ok((tables, vec![(SQLITE_PART.to_owned(), file)]))
}

async fn dump_postgres(db: &Db, staging: &Path) -> Result<(Vec<TableRows>, Files), String> {
    let dir = staging.join("database");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot stage the dump: {e}"))?;
    let mut files: Files = Vec::new();
    let mut out: Option<BufWriter<File>> = None;
    let counts = store::unscoped_postgres_dump(db, |table, row| {
        match row {
            None => {
                if let Some(mut w) = out.take() {
                    w.flush()
                        .map_err(|e| format!("cannot stage the dump: {e}"))?;
                }
                let path = dir.join(format!("{table}.jsonl"));
                let file =
                    File::create(&path).map_err(|e| format!("cannot stage the dump: {e}"))?;
                files.push((format!("database/{table}.jsonl"), path));
                out = Some(BufWriter::new(file));
            }
            Some(line) => {
                if let Some(w) = out.as_mut() {
                    w.write_all(line.as_bytes())
                        .and_then(|()| w.write_all(b"\n"))
                        .map_err(|e| format!("cannot stage the dump: {e}"))?;
                }
            }
        }
        Ok(())
    })
    .await
    .map_err(|e| format!("cannot read the database: {e}"))?;
    if let Some(mut w) = out.take() {
        w.flush()
            .map_err(|e| format!("cannot stage the dump: {e}"))?;
    }
    let tables = counts
        .into_iter()
        .map(|(table, rows)| TableRows { table, rows })
        .collect();
    Ok((tables, files))
}

fn write_archive(
    manifest: &Manifest,
    files: &Files,
    recipients: &[age::x25519::Recipient],
    target: &Path,
) -> Result<u64, String> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let partial = tempfile::Builder::new()
        .prefix(".holdfast-backup-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    let fail = |e: io::Error| format!("cannot write the backup {}: {e}", target.display());
    {
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| format!("cannot encrypt to the recipients: {e}"))?;
        let sealed = encryptor
            .wrap_output(BufWriter::with_capacity(1 << 20, partial.as_file()))
            .map_err(fail)?;
        let compressed = zstd::Encoder::new(sealed, 3).map_err(fail)?;
        let mut tar = tar::Builder::new(compressed);
        let text = serde_json::to_vec_pretty(manifest)
            .map_err(|e| format!("cannot write the manifest: {e}"))?;
        append(&mut tar, MANIFEST, text.len() as u64, &text[..]).map_err(fail)?;
        for ((path, file), part) in files.iter().zip(&manifest.parts) {
            let reader = File::open(file).map_err(fail)?;
            append(&mut tar, path, part.bytes, reader.take(part.bytes)).map_err(fail)?;
        }
        let compressed = tar.into_inner().map_err(fail)?;
        let sealed = compressed.finish().map_err(fail)?;
        let mut buffered = sealed.finish().map_err(fail)?;
        buffered.flush().map_err(fail)?;
    }
    partial.as_file().sync_all().map_err(fail)?;
    let bytes = partial.as_file().metadata().map_err(fail)?.len();
    partial
        .persist_noclobber(target)
        .map_err(|e| fail(e.error))?;
    Ok(bytes)
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    size: u64,
    data: impl Read,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, path, data)
}

/// An archive path as a safe relative path (plain names only, nothing that climbs out).
fn safe_path(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let plain = p.components().all(|c| matches!(c, Component::Normal(_)));
    (plain && !path.is_empty()).then(|| p.to_path_buf())
}

/// Decrypts `file` with `identities` and unpacks it into `into` (an empty private folder),
/// checking every part's size and SHA-256 against the manifest and that none is missing or
/// extra. Returns the manifest.
pub fn open(
    file: &Path,
    identities: &[age::x25519::Identity],
    into: &Path,
) -> Result<Manifest, String> {
    let input =
        File::open(file).map_err(|e| format!("cannot read the backup {}: {e}", file.display()))?;
    let decryptor = age::Decryptor::new_buffered(BufReader::with_capacity(1 << 20, input))
        .map_err(|e| {
            format!(
                "{} is not an age-encrypted Holdfast backup: {e}",
                file.display()
            )
        })?;
    let plain = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => format!(
                "the identity does not open {}: it was encrypted to other recipients",
                file.display()
            ),
            other => format!("cannot decrypt {}: {other}", file.display()),
        })?;
    let damaged = |e: io::Error| {
        format!(
            "{} is damaged or was altered (decryption or decompression failed: {e})",
            file.display()
        )
    };
    let decompressed = zstd::Decoder::new(plain).map_err(damaged)?;
    let mut archive = tar::Archive::new(decompressed);
    let mut entries = archive.entries().map_err(damaged)?;
    let mut first = entries
        .next()
        .ok_or_else(|| format!("{} holds no manifest", file.display()))?
        .map_err(damaged)?;
    if first.path().map_err(damaged)?.to_string_lossy() != MANIFEST {
        return Err(format!(
            "{} does not start with its manifest",
            file.display()
        ));
    }
    let mut text = Vec::new();
    (&mut first)
        .take(16 << 20)
        .read_to_end(&mut text)
        .map_err(damaged)?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| format!("the manifest of {} is not readable: {e}", file.display()))?;
    if manifest.format > FORMAT {
        return Err(format!(
            "{} has archive format {}; this Holdfast reads up to {FORMAT}",
            file.display(),
            manifest.format
        ));
    }
    let mut seen = 0usize;
    for entry in entries {
        let mut entry = entry.map_err(damaged)?;
        let name = entry
            .path()
            .map_err(damaged)?
            .to_string_lossy()
            .into_owned();
        let part = manifest
            .parts
            .get(seen)
            .filter(|p| p.path == name)
            .ok_or_else(|| {
                format!(
                    "{} holds {name}, which its manifest does not list",
                    file.display()
                )
            })?;
        let relative = safe_path(&name)
            .ok_or_else(|| format!("{} holds an unsafe path {name:?}", file.display()))?;
        let too_long = || {
            format!(
                "{name} in {} is longer than its manifest says; nothing of it is kept",
                file.display()
            )
        };
        // A part is never unpacked beyond the size the manifest gives it: a small file that
        // decompresses to a huge one cannot fill the disk before its hash is checked.
        if entry.header().size().map_err(damaged)? > part.bytes {
            return Err(too_long());
        }
        let target = into.join(relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("cannot unpack: {e}"))?;
        }
        let mut out = BufWriter::new(
            File::create(&target).map_err(|e| format!("cannot unpack {name}: {e}"))?,
        );
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut bytes = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(damaged)?;
            if n == 0 {
                break;
            }
            if bytes + n as u64 > part.bytes {
                drop(out);
                let _ = fs::remove_file(&target);
                return Err(too_long());
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(|e| format!("cannot unpack {name}: {e}"))?;
            bytes += n as u64;
        }
        out.flush()
            .map_err(|e| format!("cannot unpack {name}: {e}"))?;
        if bytes != part.bytes || hex(&hasher.finalize()) != part.sha256 {
            return Err(format!(
                "{name} in {} does not match its SHA-256 in the manifest",
                file.display()
            ));
        }
        seen += 1;
    }
    if seen != manifest.parts.len() {
        return Err(format!(
            "{} is incomplete: {} of {} parts",
            file.display(),
            seen,
            manifest.parts.len()
        ));
    }
    Ok(manifest)
}

/// `holdfast backup verify`: decrypts and unpacks `file` into a private temporary folder
/// (removed afterwards), checks every part's hash, then the snapshot (`check`).
pub async fn verify(
    file: &Path,
    identities: &[age::x25519::Identity],
) -> Result<(Manifest, Checked), String> {
    let staging = tempfile::Builder::new()
        .prefix("holdfast-verify-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let manifest = {
        let file = file.to_path_buf();
        let identities = identities.to_vec();
        let into = staging.path().to_path_buf();
        tokio::task::spawn_blocking(move || open(&file, &identities, &into))
            .await
            .map_err(|e| format!("the backup reader stopped: {e}"))??
    };
    let checked = check(&manifest, staging.path()).await?;
    Ok((manifest, checked))
}

/// What `check` found: the rows per table and every workspace's audit chain, intact.
#[derive(Debug, Clone)]
pub struct Checked {
    pub tables: usize,
    pub rows: u64,
    pub workspaces: usize,
    pub audit_entries: u64,
}

/// Checks an unpacked backup (`open` first): the snapshot opens and is sound, its rows match
/// the manifest, and every workspace's audit chain verifies.
pub async fn check(manifest: &Manifest, dir: &Path) -> Result<Checked, String> {
    let (counts, workspaces, audit_entries) = match manifest.backend.as_str() {
        "sqlite" => check_sqlite(&dir.join(SQLITE_PART)).await?,
        "postgres" => check_postgres(manifest, dir)?,
        other => return Err(format!("the backup's backend {other:?} is unknown")),
    };
    let expected = manifest.counts();
    if counts != expected {
        let differ: Vec<String> = expected
            .iter()
            .filter(|(t, n)| counts.get(*t) != Some(n))
            .map(|(t, n)| {
                format!(
                    "{t}: manifest {n}, snapshot {}",
                    counts.get(t).unwrap_or(&0)
                )
            })
            .collect();
        return Err(format!(
            "the snapshot's rows differ from the manifest ({})",
            differ.join(", ")
        ));
    }
    Ok(Checked {
        tables: counts.len(),
        rows: counts.values().sum(),
        workspaces,
        audit_entries,
    })
}

async fn check_sqlite(file: &Path) -> Result<(BTreeMap<String, u64>, usize, u64), String> {
    let snapshot = Snapshot::open(file)
        .await
        .map_err(|e| format!("cannot open the snapshot: {e}"))?;
    snapshot
        .integrity()
        .await
        .map_err(|e| e.to_string())?
        .map_err(|found| format!("the snapshot fails SQLite's integrity check: {found}"))?;
    let counts = snapshot.counts().await.map_err(|e| e.to_string())?;
    let db = snapshot.db();
    let slugs = admin::unscoped_workspace_slugs(db)
        .await
        .map_err(|e| e.to_string())?;
    let mut entries = 0;
    for slug in &slugs {
        let tenant = admin::unscoped_tenant_by_slug(db, slug)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("workspace {slug} vanished from the snapshot"))?;
        let verdict = crate::audit::verify(db, &tenant)
            .await
            .map_err(|e| e.detail)?;
        if let Some(broken) = verdict.broken {
            return Err(format!(
                "the audit chain of workspace {slug} is broken at entry {}: {}",
                broken.seq, broken.reason
            ));
        }
        entries += verdict.entries;
    }
    snapshot.close().await;
    Ok((counts, slugs.len(), entries))
}

fn jsonl_lines(path: &Path) -> Result<impl Iterator<Item = io::Result<String>>, String> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(BufReader::new(file).lines())
}

fn check_postgres(
    manifest: &Manifest,
    dir: &Path,
) -> Result<(BTreeMap<String, u64>, usize, u64), String> {
    let mut counts = BTreeMap::new();
    let mut chains: BTreeMap<String, Vec<AuditEntry>> = BTreeMap::new();
    let mut heads: BTreeMap<String, (i64, String)> = BTreeMap::new();
    let mut workspaces = 0;
    for table in &manifest.tables {
        let name = store::identifier(&table.table).map_err(|e| e.to_string())?;
        let path = dir.join("database").join(format!("{name}.jsonl"));
        let mut n = 0u64;
        for line in jsonl_lines(&path)? {
            let line = line.map_err(|e| format!("cannot read table {name}: {e}"))?;
            let row: serde_json::Value = serde_json::from_str(&line)
                .map_err(|e| format!("table {name}, row {}: not JSON: {e}", n + 1))?;
            if !row.is_object() {
                return Err(format!("table {name}, row {}: not a row", n + 1));
            }
            match name {
                "audit_events" => {
                    let entry: AuditEntry = serde_json::from_value(row)
                        .map_err(|e| format!("audit_events row {}: {e}", n + 1))?;
                    chains
                        .entry(entry.workspace_id.clone())
                        .or_default()
                        .push(entry);
                }
                "audit_heads" => {
                    let ws = row["workspace_id"].as_str().unwrap_or_default().to_owned();
                    let seq = row["seq"].as_i64().unwrap_or(0);
                    let hash = row["hash"].as_str().unwrap_or_default().to_owned();
                    heads.insert(ws, (seq, hash));
                }
                "workspaces" => workspaces += 1,
                _ => {}
            }
            n += 1;
        }
        counts.insert(table.table.clone(), n);
    }
    let mut entries = 0;
    for ws in chains
        .keys()
        .chain(heads.keys())
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
    {
        let mut chain = chains.remove(&ws).unwrap_or_default();
        chain.sort_by_key(|e| e.seq);
        let verdict = crate::audit::verdict(chain, heads.get(&ws).cloned());
        if let Some(broken) = verdict.broken {
            return Err(format!(
                "the audit chain of workspace {ws} is broken at entry {}: {}",
                broken.seq, broken.reason
            ));
        }
        entries += verdict.entries;
    }
    Ok((counts, workspaces, entries))
}

/// Where a restore writes: the data dir (attachments; the SQLite database file) and the
/// database.
pub struct Target<'a> {
    pub data_dir: &'a Path,
    pub database_url: &'a str,
}

/// What a restore put back.
#[derive(Debug, Clone)]
pub struct Restored {
    pub manifest: Manifest,
    pub checked: Checked,
}

/// The SQLite database file a `sqlite:` URL names.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Refuses a data dir holding anything but the master key (which an operator may put back
/// first).
fn refuse_non_empty_dir(dir: &Path) -> Result<(), String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    let others: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "master.key")
        .collect();
    if others.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the target data dir {} is not empty (it holds {}); restore into a new, empty folder",
            dir.display(),
            others.join(", ")
        ))
    }
}

/// Restores `file` into an empty target: decrypts, checks everything (as `verify` does), then
/// writes the database and the attachments. A refusal or failure before the last step leaves
/// the target as it was.
pub async fn restore(
    file: &Path,
    identities: &[age::x25519::Identity],
    target: Target<'_>,
) -> Result<Restored, String> {
    refuse_non_empty_dir(target.data_dir)?;
    let sqlite_target = sqlite_file(target.database_url);
    let db = match &sqlite_target {
        Some(path) => {
            if path.exists() {
                return Err(format!(
                    "the target database {} already exists; restore into a new, empty data dir",
                    path.display()
                ));
            }
            None
        }
        None => {
            let db = Db::connect(target.database_url, 4)
                .await
                .map_err(|e| format!("cannot open the target database: {e}"))?;
            store::refuse_visible_rows(&db)
                .await
                .map_err(|e| e.to_string())?;
            if store::postgres_has_tables(&db)
                .await
                .map_err(|e| e.to_string())?
            {
                let version = store::schema_version(&db)
                    .await
                    .map_err(|e| e.to_string())?;
                if version != store::latest_schema_version(&db) {
                    return Err(format!(
                        "the target database already has Holdfast tables (schema version \
                         {version}); restore into an empty database"
                    ));
                }
            }
            Some(db)
        }
    };
    // Unpacked beside the target, in a private folder removed on every way out.
    let parent = target
        .data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    let parent = parent.unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| format!("cannot use {}: {e}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".holdfast-restore-")
        .tempdir_in(parent)
        .map_err(|e| format!("cannot make a staging folder in {}: {e}", parent.display()))?;
    let manifest = {
        let file = file.to_path_buf();
        let identities = identities.to_vec();
        let into = staging.path().to_path_buf();
        tokio::task::spawn_blocking(move || open(&file, &identities, &into))
            .await
            .map_err(|e| format!("the backup reader stopped: {e}"))??
    };
    let wanted = if sqlite_target.is_some() {
        "sqlite"
    } else {
        "postgres"
    };
    if manifest.backend != wanted {
        return Err(format!(
            "this is a {} backup; it restores into {} only (the target is {wanted})",
            manifest.backend, manifest.backend
        ));
    }
    let checked = check(&manifest, staging.path()).await?;
    match (&sqlite_target, &db) {
        (Some(path), _) => {
            let latest = store::latest_schema_version_of(Backend::Sqlite);
            if manifest.schema_version != latest {
                return Err(schema_mismatch(&manifest, latest));
            }
            move_attachments(staging.path(), target.data_dir)?;
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            fs::rename(staging.path().join(SQLITE_PART), path)
                .map_err(|e| format!("cannot put the database at {}: {e}", path.display()))?;
        }
        (None, Some(db)) => {
            let latest = store::latest_schema_version(db);
            if manifest.schema_version != latest {
                return Err(schema_mismatch(&manifest, latest));
            }
            db.migrate()
                .await
                .map_err(|e| format!("cannot migrate the target database: {e}"))?;
            load_postgres(db, &manifest, staging.path()).await?;
            move_attachments(staging.path(), target.data_dir)?;
            db.close().await;
        }
        (None, None) => return Err("no target database".into()),
    }
    Ok(Restored { manifest, checked })
}

fn schema_mismatch(manifest: &Manifest, latest: i64) -> String {
    format!(
        "the backup is at schema version {} (Holdfast {}), this Holdfast at {latest}; restore \
         with the Holdfast version that made it, then upgrade",
        manifest.schema_version, manifest.holdfast_version
    )
}

async fn load_postgres(db: &Db, manifest: &Manifest, dir: &Path) -> Result<(), String> {
    let mut load = PostgresLoad::unscoped_begin(db)
        .await
        .map_err(|e| e.to_string())?;
    for table in &manifest.tables {
        let name = store::identifier(&table.table).map_err(|e| e.to_string())?;
        let path = dir.join("database").join(format!("{name}.jsonl"));
        let mut batch = String::from("[");
        let mut in_batch = 0usize;
        let mut loaded = 0u64;
        for line in jsonl_lines(&path)? {
            let line = line.map_err(|e| format!("cannot read table {name}: {e}"))?;
            if in_batch > 0 {
                batch.push(',');
            }
            batch.push_str(&line);
            in_batch += 1;
            if in_batch == LOAD_BATCH {
                batch.push(']');
                loaded += load
                    .load(name, &batch)
                    .await
                    .map_err(|e| format!("table {name}: {e}"))?;
                batch = String::from("[");
                in_batch = 0;
            }
        }
        if in_batch > 0 {
            batch.push(']');
            loaded += load
                .load(name, &batch)
                .await
                .map_err(|e| format!("table {name}: {e}"))?;
        }
        if loaded != table.rows {
            return Err(format!(
                "table {name}: loaded {loaded} rows, the manifest says {}",
                table.rows
            ));
        }
    }
    load.finish().await.map_err(|e| e.to_string())
}

fn move_attachments(staging: &Path, data_dir: &Path) -> Result<(), String> {
    fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create the data dir {}: {e}", data_dir.display()))?;
    let _ = fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700));
    let from = staging.join("attachments");
    if from.exists() {
        fs::rename(&from, data_dir.join("attachments"))
            .map_err(|e| format!("cannot put the attachments in {}: {e}", data_dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An archive whose one part is far longer than its manifest says, encrypted to `to`.
    fn oversized_backup(to: &age::x25519::Recipient, claimed: u64, actual: u64) -> Vec<u8> {
        let manifest = Manifest {
            format: FORMAT,
            holdfast_version: "test".into(),
            backend: "sqlite".into(),
            schema_version: 1,
            created_at_ms: 0,
            created_at: String::new(),
            tables: Vec::new(),
            parts: vec![Part {
                path: "database/holdfast.db".into(),
                bytes: claimed,
                sha256: "00".repeat(32),
            }],
        };
        let text = serde_json::to_vec(&manifest).unwrap();
        let mut out = Vec::new();
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(to as &dyn age::Recipient)).unwrap();
        let mut encrypted = encryptor.wrap_output(&mut out).unwrap();
        {
            let zstd = zstd::Encoder::new(&mut encrypted, 3).unwrap().auto_finish();
            let mut tar = tar::Builder::new(zstd);
            append(&mut tar, MANIFEST, text.len() as u64, &text[..]).unwrap();
            append(
                &mut tar,
                "database/holdfast.db",
                actual,
                io::repeat(0).take(actual),
            )
            .unwrap();
            tar.into_inner().unwrap();
        }
        encrypted.finish().unwrap();
        out
    }

    #[test]
    fn a_part_longer_than_its_manifest_says_is_refused_before_it_is_unpacked() {
        let identity = age::x25519::Identity::generate();
        let bytes = oversized_backup(&identity.to_public(), 1, 64 << 20);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bomb.tar.zst.age");
        std::fs::write(&file, &bytes).unwrap();
        assert!(bytes.len() < 1 << 20, "a small file: {}", bytes.len());
        let into = dir.path().join("unpacked");
        std::fs::create_dir(&into).unwrap();
        let refused = open(&file, &[identity], &into).unwrap_err();
        assert!(
            refused.contains("longer than its manifest says"),
            "{refused}"
        );
        let written: u64 = walk(&into);
        assert_eq!(written, 0, "nothing of the oversized part is kept");
    }

    fn walk(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    walk(&e.path())
                } else {
                    e.metadata().unwrap().len()
                }
            })
            .sum()
    }
}
