//! A job's output files as the daemon hands them to a client (the seed's
//! job query, following a job's output). A system daemon runs as root and
//! reads where a user's job wrote, a path that user controls: a symlink or
//! a hard link put there after the job could make root read, for that
//! user, a file the user may not. So a file is opened without following a
//! last symlink, and read only when it is a regular file that the job's
//! owner owns; anything else reads as nothing.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Daemon;
use crate::protocol::JobId;

/// The most of a file a client gets in one answer: its last this many
/// bytes, so a job that writes gigabytes cannot make the daemon hold them.
pub const MAX_ANSWER_BYTES: u64 = 4 << 20;

/// Opens a job's output file for reading, as its owner `uid` may have it:
/// `Ok(None)` when there is no such file yet, an error when the path is a
/// symlink, not a regular file, or not the owner's.
pub fn open(path: &Path, uid: u32) -> io::Result<Option<File>> {
    let file = match std::fs::OpenOptions::new()
        .read(true)
        // A FIFO put in the file's place must not block the daemon.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() || meta.uid() != uid {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} is not a file of the job's owner", path.display()),
        ));
    }
    Ok(Some(file))
}

/// The file's text (its last [`MAX_ANSWER_BYTES`], invalid UTF-8 replaced),
/// or empty when it is missing or may not be read for `uid`.
pub fn read_text(path: &Path, uid: u32) -> String {
    let Ok(Some(mut file)) = open(path, uid) else {
        return String::new();
    };
    let len = file.metadata().map_or(0, |meta| meta.len());
    if len > MAX_ANSWER_BYTES && file.seek(SeekFrom::Start(len - MAX_ANSWER_BYTES)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    if file.take(MAX_ANSWER_BYTES).read_to_end(&mut bytes).is_err() {
        return String::new();
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// How much of the file one chunk of a followed reply carries at most.
const CHUNK_BYTES: usize = 64 << 10;

/// How often a follower looks for more output, and whether the job ended.
const POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// A job's output file sent as it grows: what it holds from `offset` on,
/// then, when following, what the job writes until it ends (one last read
/// after the end, so nothing written just before it is lost). A file
/// truncated or replaced under the reader (a requeued job starts it
/// again) is read again from its start. A path that stops being a file of
/// the owner ends the reply.
pub struct Follow {
    daemon: Arc<Daemon>,
    id: JobId,
    path: PathBuf,
    uid: u32,
    file: Option<tokio::fs::File>,
    offset: u64,
    follow: bool,
    last_look: bool,
    /// Where each read lands, allocated once: a follower polls an idle
    /// file five times a second.
    buffer: Vec<u8>,
}

impl Follow {
    pub fn new(
        daemon: Arc<Daemon>,
        id: JobId,
        path: PathBuf,
        uid: u32,
        offset: u64,
        follow: bool,
    ) -> Follow {
        Follow {
            daemon,
            id,
            path,
            uid,
            file: None,
            offset,
            follow,
            last_look: false,
            buffer: vec![0; CHUNK_BYTES],
        }
    }

    /// The chunks, for a streamed reply body.
    pub fn into_stream(
        self,
    ) -> impl futures_util::Stream<Item = io::Result<axum::body::Bytes>> + Send {
        futures_util::stream::unfold(self, |mut follow| async move {
            let chunk = follow.next_chunk().await.transpose()?;
            // After an error the reply ends: nothing more is read.
            if chunk.is_err() {
                follow.follow = false;
                follow.file = None;
                follow.last_look = true;
            }
            Some((chunk, follow))
        })
    }

    /// The next bytes, or `None` at the end of the reply.
    async fn next_chunk(&mut self) -> io::Result<Option<axum::body::Bytes>> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        loop {
            if self.file.is_none() {
                match open(&self.path, self.uid) {
                    Ok(Some(file)) => self.file = Some(tokio::fs::File::from_std(file)),
                    Ok(None) => {}
                    Err(e) => return Err(e),
                }
                if let Some(file) = &mut self.file {
                    let len = file.metadata().await?.len();
                    if len < self.offset {
                        self.offset = 0;
                    }
                    file.seek(SeekFrom::Start(self.offset)).await?;
                }
            }
            if let Some(file) = &mut self.file {
                let read = file.read(&mut self.buffer).await?;
                if read > 0 {
                    self.offset += read as u64;
                    let chunk = axum::body::Bytes::copy_from_slice(&self.buffer[..read]);
                    return Ok(Some(chunk));
                }
                if replaced(&self.path, file, self.offset).await {
                    // Read the new file (or the truncated one) from its start.
                    self.file = None;
                    self.offset = 0;
                    continue;
                }
            }
            if !self.follow || self.last_look {
                return Ok(None);
            }
            if self.daemon.has_ended(self.id) {
                self.last_look = true;
                continue;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Whether the open file is no longer what `path` names, or was cut
/// shorter than the `offset` read of it.
async fn replaced(path: &Path, file: &tokio::fs::File, offset: u64) -> bool {
    let (Ok(open), Ok(now)) = (
        file.metadata().await,
        tokio::fs::symlink_metadata(path).await,
    ) else {
        return false;
    };
    open.ino() != now.ino() || open.dev() != now.dev() || open.len() < offset
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> u32 {
        rustix::process::getuid().as_raw()
    }

    #[test]
    fn the_owners_file_is_read_and_a_missing_one_is_empty() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("out");
        assert_eq!(read_text(&path, me()), "");
        std::fs::write(&path, "hello\n").expect("write");
        assert_eq!(read_text(&path, me()), "hello\n");
    }

    #[test]
    fn a_symlink_or_another_users_file_reads_as_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "secret\n").expect("write");
        let link = dir.path().join("out");
        std::os::unix::fs::symlink(&secret, &link).expect("link");
        assert!(open(&link, me()).is_err());
        assert_eq!(read_text(&link, me()), "");
        // The file is not the job owner's.
        assert_eq!(read_text(&secret, me() + 1), "");
        assert!(open(dir.path(), me()).is_err(), "a directory is refused");
    }

    #[test]
    fn a_long_file_gives_its_end() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("out");
        let mut text = "x".repeat(MAX_ANSWER_BYTES as usize);
        text.push_str("end\n");
        std::fs::write(&path, &text).expect("write");
        let read = read_text(&path, me());
        assert_eq!(read.len() as u64, MAX_ANSWER_BYTES);
        assert!(read.ends_with("xend\n"));
    }
}
