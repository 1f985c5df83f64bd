//! Per-user API tokens, like Slurm's `scontrol token`: a user asks for one
//! over the Unix socket (so the kernel says who they are), and a request
//! over TCP that carries it acts as that user, with that user's rights,
//! and its jobs run as that user. Tokens are kept only as SHA-256 hashes
//! (a leaked store reveals none), expire, and can be revoked.
//!
//! The book is a small JSON file in the state directory (0600), rewritten
//! whole through a renamed temporary file on each change: tokens are issued
//! by people, not by the thousand, and a file keeps them apart from the job
//! store's schema. On a cluster's PostgreSQL store the same JSON is one row
//! of the database instead, so a token works on every node and outlives a
//! change of scheduler (every node passes requests to the scheduler, which
//! alone reads the book).

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::caller::Caller;
use crate::error::{Error, Result};

/// Where the book lives in the state directory.
const BOOK_FILE: &str = "tokens.json";

/// The longest lifespan a token may be given: a year.
pub const MAX_LIFESPAN_SECS: u64 = 365 * 86_400;
/// The lifespan of a token asked for without one: Slurm's `scontrol token`
/// default, 30 minutes.
pub const DEFAULT_LIFESPAN_SECS: u64 = 1800;

/// Every token prefix: tells a Conductor token apart at a glance (and from
/// the daemon's own admin token in its state directory).
const PREFIX: &str = "cdt_";

/// One issued token, as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    /// Hex SHA-256 of the token.
    hash: String,
    uid: u32,
    gid: u32,
    issued: DateTime<Utc>,
    expires: DateTime<Utc>,
}

/// The issued tokens.
#[derive(Debug)]
pub struct TokenBook {
    kept: Kept,
    entries: Mutex<Vec<Entry>>,
}

/// Where the book is kept.
#[derive(Debug)]
enum Kept {
    File(PathBuf),
    /// The `api_tokens` row of the database at this URL.
    Database(String),
}

/// The table of a cluster's book, made where missing.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_tokens (
    id   integer PRIMARY KEY CHECK (id = 1),
    book text    NOT NULL
)";

impl TokenBook {
    /// Reads the book in `state_dir` (none yet is an empty book).
    pub fn open(state_dir: &Path) -> Result<TokenBook> {
        let path = state_dir.join(BOOK_FILE);
        let entries = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Other(format!("cannot read the tokens in {}: {e}", path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io("cannot read", &path, e)),
        };
        Ok(TokenBook {
            kept: Kept::File(path),
            entries: Mutex::new(entries),
        })
    }

    /// Reads the cluster's book from the database at `url` (whose schema
    /// the store has made). Blocks: for a thread outside the runtime.
    pub fn open_in_database(url: &str) -> Result<TokenBook> {
        let mut client = super::cluster::db::connect(url)?;
        let row = client.query_opt("SELECT book FROM api_tokens WHERE id = 1", &[])?;
        let entries = match row {
            Some(row) => serde_json::from_str(row.get(0)).map_err(|e| {
                Error::Other(format!("cannot read the tokens in the database: {e}"))
            })?,
            None => Vec::new(),
        };
        Ok(TokenBook {
            kept: Kept::Database(url.to_string()),
            entries: Mutex::new(entries),
        })
    }

    /// Writes the book where it is kept.
    fn save(&self, entries: &[Entry]) -> Result<()> {
        match &self.kept {
            Kept::File(path) => save(path, entries),
            Kept::Database(url) => {
                let book =
                    serde_json::to_string(entries).map_err(|e| Error::Other(e.to_string()))?;
                let write = || -> Result<()> {
                    let mut client = super::cluster::db::connect(url)?;
                    client.execute(
                        "INSERT INTO api_tokens (id, book) VALUES (1, $1)
                         ON CONFLICT (id) DO UPDATE SET book = excluded.book",
                        &[&book],
                    )?;
                    Ok(())
                };
                // On the runtime's thread, which may block while it writes
                // (tokens are issued by people, seldom).
                match tokio::runtime::Handle::try_current() {
                    Ok(_) => tokio::task::block_in_place(write),
                    Err(_) => write(),
                }
            }
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Issues a token for `caller`, valid for `lifespan_secs`; returns the
    /// token (shown once, never kept) and when it expires.
    pub fn issue(&self, caller: Caller, lifespan_secs: u64) -> Result<(String, DateTime<Utc>)> {
        if lifespan_secs == 0 || lifespan_secs > MAX_LIFESPAN_SECS {
            return Err(Error::Invalid(format!(
                "lifespan must be between 1 and {MAX_LIFESPAN_SECS} seconds"
            )));
        }
        let token = format!("{PREFIX}{}", random_hex()?);
        let issued = Utc::now();
        let expires = issued + chrono::Duration::seconds(lifespan_secs as i64);
        let mut entries = self.entries();
        // Expired entries go whenever the book is written.
        entries.retain(|e| e.expires > issued);
        entries.push(Entry {
            hash: hash(&token),
            uid: caller.uid,
            gid: caller.gid,
            issued,
            expires,
        });
        self.save(&entries)?;
        Ok((token, expires))
    }

    /// Revokes every token of `uid`; returns how many there were.
    pub fn revoke(&self, uid: u32) -> Result<usize> {
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|e| e.uid != uid);
        let revoked = before - entries.len();
        if revoked > 0 {
            self.save(&entries)?;
        }
        Ok(revoked)
    }

    /// Who a presented token acts as; `None` for one unknown, expired or
    /// revoked.
    pub fn caller_of(&self, presented: &str) -> Option<Caller> {
        if !presented.starts_with(PREFIX) {
            return None;
        }
        let wanted = hash(presented);
        let now = Utc::now();
        self.entries()
            .iter()
            .find(|e| super::server::same_secret(e.hash.as_bytes(), wanted.as_bytes()))
            .filter(|e| e.expires > now)
            .map(|e| Caller {
                uid: e.uid,
                gid: e.gid,
            })
    }
}

fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn random_hex() -> Result<String> {
    let mut random = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut source| source.read_exact(&mut random))
        .map_err(|e| Error::io("cannot read", "/dev/urandom", e))?;
    Ok(random.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes the book whole: a temporary file (0600), synced, renamed.
fn save(path: &Path, entries: &[Entry]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec(entries).map_err(|e| Error::Other(e.to_string()))?;
    let written = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(&bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    written.map_err(|e| Error::io("cannot write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: Caller = Caller {
        uid: 1000,
        gid: 100,
    };

    #[test]
    fn a_token_acts_as_its_user_until_revoked() {
        let dir = tempfile::tempdir().expect("dir");
        let book = TokenBook::open(dir.path()).expect("open");
        let (token, expires) = book.issue(ALICE, 60).expect("issued");
        assert!(token.starts_with("cdt_") && expires > Utc::now());
        assert_eq!(book.caller_of(&token), Some(ALICE));
        assert_eq!(book.caller_of("cdt_not-a-token"), None);
        // Kept as a hash only, and read back by a new daemon.
        let kept = fs::read_to_string(dir.path().join(BOOK_FILE)).expect("book");
        assert!(!kept.contains(&token[4..]));
        let again = TokenBook::open(dir.path()).expect("reopen");
        assert_eq!(again.caller_of(&token), Some(ALICE));
        assert_eq!(again.revoke(ALICE.uid).expect("revoke"), 1);
        assert_eq!(again.caller_of(&token), None);
    }

    #[test]
    fn lifespans_are_bounded() {
        let dir = tempfile::tempdir().expect("dir");
        let book = TokenBook::open(dir.path()).expect("open");
        assert!(book.issue(ALICE, 0).is_err());
        assert!(book.issue(ALICE, MAX_LIFESPAN_SECS + 1).is_err());
    }
}
