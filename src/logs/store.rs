//! An on-disk cache of cleaned job logs, so a long log is downloaded and cleaned once and then read
//! by line range, tailed or searched without holding it in memory.
//!
//! An entry is a directory `<dir>/<key>` (the key is a job UUID) holding `log.txt` (the cleaned
//! lines, each followed by `\n`), `lines.idx` (16 bytes per line, little-endian: the line's byte
//! offset in `log.txt` as `u64`, then its `bk;t=` timestamp in milliseconds as `i64`, 0 for none) and
//! `meta.json` ([`LogMeta`]), written last so its presence marks the entry complete. Entries are
//! written in a private temporary directory inside the cache directory and renamed into place, so a
//! reader never sees half an entry. The least recently opened entries are evicted to keep the cache
//! under its size cap.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::clean::{MAX_LINE_CHARS, MAX_RAW_LINE, clean_line};
use super::section_name;
use super::trust::{Checksum, Doubt, Facts};

/// Name of the cleaned text file of an entry.
const TEXT_FILE: &str = "log.txt";
/// Name of the line index file of an entry.
const INDEX_FILE: &str = "lines.idx";
/// Name of the metadata file of an entry, written last.
const META_FILE: &str = "meta.json";
/// Bytes per line in `lines.idx`.
const INDEX_ENTRY: u64 = 16;
/// Prefix of the temporary directories entries are written in.
const TMP_PREFIX: &str = ".tmp-";
/// A temporary directory untouched for this long belongs to a writer that died: it is deleted.
const STALE_TMP: Duration = Duration::from_secs(3600);
/// Most sections indexed per log; later headers are not indexed (the meta file stays small).
pub const MAX_SECTIONS: usize = 5_000;
/// Most lines one [`CachedLog::read`] or [`CachedLog::tail`] returns.
pub const MAX_READ_LINES: usize = 10_000;
/// Upper bound of the bytes of one cleaned line in `log.txt` with its `\n`: at most
/// `MAX_LINE_CHARS` characters plus the cut marker, each at most 4 bytes in UTF-8.
const MAX_LINE_BYTES: u64 = 4 * (MAX_LINE_CHARS as u64 + 1) + 1;

/// Creates `dir` (and its parents) readable by this user only, as logs may hold private output.
/// A directory that exists must be a real directory (not a symlink) owned by this user; one that
/// others can read is made private.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    no_symlinked_parent(dir)?;
    if fs::symlink_metadata(dir).is_ok() {
        return check_private_dir(dir);
    }
    private_dir_builder(true).create(dir)
}

/// No component of the path may be a symlink: whoever controls its target controls the cache.
fn no_symlinked_parent(dir: &Path) -> io::Result<()> {
    for ancestor in dir.ancestors().skip(1) {
        if fs::symlink_metadata(ancestor).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("the cache directory is under a symlink ({}): pass the real path", ancestor.display()),
            ));
        }
    }
    Ok(())
}

/// A directory builder that creates directories with mode 0700 (on Unix).
fn private_dir_builder(recursive: bool) -> fs::DirBuilder {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(recursive);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
}

/// Whether an existing cache directory can be trusted: not a symlink, owned by this user (a
/// directory another user made first could hold planted entries), and private (made so if not).
fn check_private_dir(dir: &Path) -> io::Result<()> {
    let denied = |why: &str| io::Error::new(io::ErrorKind::PermissionDenied, format!("the cache directory {why}"));
    no_symlinked_parent(dir)?;
    let meta = fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() {
        return Err(denied("is a symlink"));
    }
    if !meta.is_dir() {
        return Err(denied("is not a directory"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        // This process's user owns its /proc entry (Linux); elsewhere the owner check is skipped.
        if let Ok(me) = fs::metadata("/proc/self")
            && me.uid() != meta.uid()
        {
            return Err(denied("belongs to another user"));
        }
        if meta.mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Distinguishes the temporary directories of writers in one process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What `meta.json` records about a cached log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogMeta {
    /// Number of lines, which is also the number of lines of the raw log.
    pub lines: u64,
    /// Bytes of the raw log as downloaded.
    pub raw_bytes: u64,
    /// Bytes of `log.txt`.
    pub text_bytes: u64,
    /// The log's sections (`--- `, `+++ ` and `~~~ ` headers), in order.
    pub sections: Vec<Section>,
    /// [`Checksum`]s of `log.txt` and `lines.idx`, written with the entry (32 hex digits).
    #[serde(default)]
    pub checksum: Option<String>,
}

/// A log section: a header line and the lines up to the next header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// The header's title, without its `--- ` prefix.
    pub title: String,
    /// Line number (1-based) of the header.
    pub first: u64,
    /// Line number of the section's last line (inclusive): the line before the next header, or the
    /// log's last line.
    pub last: u64,
    /// Timestamp of the header line, in milliseconds since the Unix epoch, when it had one.
    pub ts: Option<i64>,
}

/// One cleaned log line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// 1-based line number, counting the raw log's lines.
    pub number: u64,
    /// The cleaned text (empty for a line with nothing to show).
    pub text: String,
    /// The line's `bk;t=` timestamp in milliseconds since the Unix epoch, when it had one.
    pub ts: Option<i64>,
}

/// The cache of cleaned job logs in one directory, capped at a total size.
#[derive(Debug, Clone)]
pub struct LogStore {
    dir: PathBuf,
    max_bytes: u64,
}

impl LogStore {
    /// A store in `dir` (created on the first write) holding at most about `max_bytes` of entries.
    pub fn new(dir: PathBuf, max_bytes: u64) -> Self {
        LogStore { dir, max_bytes }
    }

    /// The default cache directory: `$XDG_CACHE_HOME/buildkite-mcp-server/logs`, else
    /// `$HOME/.cache/buildkite-mcp-server/logs`; `None` when neither variable is usable.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |name: &str| std::env::var_os(name).map(PathBuf::from).filter(|p| p.is_absolute());
        let base = var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|home| home.join(".cache")))?;
        Some(base.join("buildkite-mcp-server").join("logs"))
    }

    /// The directory of this store.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the directory can be used as it is (`NotFound`: not made yet, which is fine).
    pub fn usable(&self) -> io::Result<()> {
        check_private_dir(&self.dir)
    }

    /// The complete cached entry for `key`, marked as recently used. `None` when the key is not
    /// `[A-Za-z0-9-]{1,64}`, or the entry is missing, half-written or unreadable.
    pub fn open(&self, key: &str) -> Option<CachedLog> {
        self.open_checked(key).ok().flatten()
    }

    /// Like [`LogStore::open`], but an entry that is there and fails a check (corrupt, not
    /// private, not this user's) is removed, so it is replaced by the next download, and the doubt
    /// is returned. Whether its size matches Buildkite's is for the caller to [`judge`](super::trust::judge).
    pub fn open_checked(&self, key: &str) -> Result<Option<CachedLog>, Doubt> {
        if !valid_key(key) {
            return Ok(None);
        }
        match check_private_dir(&self.dir) {
            Ok(()) => {}
            // Not created yet: nothing cached.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                self.unusable(&e);
                return Ok(None);
            }
        }
        let dir = self.dir.join(key);
        let log = match CachedLog::open_dir(&dir, None) {
            Ok(log) => log,
            Err(e) if e.kind() == io::ErrorKind::NotFound && fs::symlink_metadata(&dir).is_err() => return Ok(None),
            Err(e) => {
                let doubt = match e.kind() {
                    io::ErrorKind::PermissionDenied => Doubt::Foreign(e.to_string()),
                    _ => Doubt::Corrupt(e.to_string()),
                };
                tracing::warn!(job = key, "log cache entry dropped: {doubt}");
                self.discard(key);
                return Err(doubt);
            }
        };
        if let Some(why) = log.facts().foreign.clone().or_else(|| (!log.facts().checksum_ok).then(|| "checksum".into()))
        {
            tracing::warn!(job = key, "log cache entry dropped: {why}");
            self.discard(key);
            return Err(if log.facts().checksum_ok {
                Doubt::Foreign(why)
            } else {
                Doubt::Corrupt("its checksum does not match".into())
            });
        }
        // Mark as recently used for eviction; failing to do so only makes eviction less exact.
        if let Err(e) = touch(&dir.join(META_FILE)) {
            tracing::debug!("cannot mark log cache entry {key} as used: {e}");
        }
        Ok(Some(log))
    }

    /// Removes the entry of `key` (or, when it cannot be removed, moves it out of the way for
    /// the clean-up of abandoned directories), so the next download replaces it.
    pub fn discard(&self, key: &str) {
        if !valid_key(key) {
            return;
        }
        let dir = self.dir.join(key);
        if fs::remove_dir_all(&dir).is_ok() {
            return;
        }
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let aside = self.dir.join(format!("{TMP_PREFIX}bad-{key}-{nanos}"));
        if let Err(e) = fs::rename(&dir, &aside) {
            tracing::warn!(job = key, "cannot remove a bad log cache entry: {e}");
        }
    }

    /// Says once per process that the cache directory cannot be used (logs are then read uncached).
    pub fn unusable(&self, e: &io::Error) {
        static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if !SAID.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "the log cache {} cannot be used ({e}): logs are read uncached; set BUILDKITE_MCP_LOG_CACHE to a private directory of yours",
                self.dir.display()
            );
        }
    }

    /// Starts writing a new entry for `key` in a private temporary directory inside the cache
    /// directory (created if missing).
    pub fn writer(&self, key: &str) -> io::Result<LogWriter> {
        if !valid_key(key) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid log cache key {key:?}")));
        }
        create_private_dir(&self.dir)?;
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("{TMP_PREFIX}{}-{n}-{nanos}", std::process::id()));
        private_dir_builder(false).create(&path)?;
        let guard = DirGuard { path, armed: true };
        let text = BufWriter::new(File::create(guard.path.join(TEXT_FILE))?);
        let idx = BufWriter::new(File::create(guard.path.join(INDEX_FILE))?);
        Ok(LogWriter {
            text,
            idx,
            store: self.clone(),
            key: key.to_string(),
            pending: Vec::new(),
            raw_bytes: 0,
            text_bytes: 0,
            lines: 0,
            sections: Vec::new(),
            section_open: false,
            text_sum: Checksum::default(),
            idx_sum: Checksum::default(),
            guard,
        })
    }

    /// Deletes the least recently used entries (by `meta.json` modification time) until the
    /// entries total at most `max_bytes`, never the entry `keep`, and deletes temporary
    /// directories of writers that died. Entries that cannot be read are skipped.
    fn evict(&self, keep: &str) {
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        let now = SystemTime::now();
        let mut total = 0u64;
        let mut candidates: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let path = entry.path();
            if name.starts_with(TMP_PREFIX) {
                if is_stale(&path, now) {
                    tracing::debug!("removing abandoned log cache directory {}", path.display());
                    let _ = fs::remove_dir_all(&path);
                }
                continue;
            }
            if !valid_key(name) {
                continue;
            }
            let Some((used, size)) = entry_usage(&path) else { continue };
            total = total.saturating_add(size);
            if name != keep {
                candidates.push((used, size, path));
            }
        }
        candidates.sort_by_key(|c| c.0);
        for (_, size, path) in candidates {
            if total <= self.max_bytes {
                break;
            }
            match fs::remove_dir_all(&path) {
                Ok(()) => total = total.saturating_sub(size),
                Err(e) => tracing::debug!("cannot evict log cache entry {}: {e}", path.display()),
            }
        }
    }
}

/// Whether `key` is a usable entry name: `[A-Za-z0-9-]{1,64}`.
fn valid_key(key: &str) -> bool {
    (1..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Sets a file's modification time to now.
fn touch(path: &Path) -> io::Result<()> {
    fs::OpenOptions::new().write(true).open(path)?.set_modified(SystemTime::now())
}

/// Whether a writer's temporary directory has not been written to for [`STALE_TMP`].
fn is_stale(dir: &Path, now: SystemTime) -> bool {
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let last = match (modified(dir), modified(&dir.join(TEXT_FILE))) {
        (Some(a), Some(b)) => a.max(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => return false,
    };
    now.duration_since(last).is_ok_and(|age| age > STALE_TMP)
}

/// When an entry was last used and its size on disk, if it is complete.
fn entry_usage(dir: &Path) -> Option<(SystemTime, u64)> {
    let meta = fs::metadata(dir.join(META_FILE)).ok()?;
    let used = meta.modified().ok()?;
    let text = fs::metadata(dir.join(TEXT_FILE)).ok()?.len();
    let idx = fs::metadata(dir.join(INDEX_FILE)).ok()?.len();
    Some((used, meta.len() + text + idx))
}

/// Deletes a directory when dropped, unless disarmed.
#[derive(Debug)]
struct DirGuard {
    path: PathBuf,
    armed: bool,
}

impl Drop for DirGuard {
    fn drop(&mut self) {
        if self.armed
            && let Err(e) = fs::remove_dir_all(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::debug!("cannot remove log cache directory {}: {e}", self.path.display());
        }
    }
}

/// Writes one entry from the raw log as it streams in. Dropping it unfinished deletes what it
/// wrote.
#[derive(Debug)]
pub struct LogWriter {
    // Files first: fields drop in order, so they are closed before the guard deletes the directory.
    text: BufWriter<File>,
    idx: BufWriter<File>,
    store: LogStore,
    key: String,
    /// The raw bytes of the line being received, at most [`MAX_RAW_LINE`].
    pending: Vec<u8>,
    raw_bytes: u64,
    text_bytes: u64,
    lines: u64,
    sections: Vec<Section>,
    /// Whether the last section still runs (its `last` is not known yet).
    section_open: bool,
    text_sum: Checksum,
    idx_sum: Checksum,
    guard: DirGuard,
}

impl LogWriter {
    /// Takes the next chunk of the raw log, which may end in the middle of a line or of a UTF-8
    /// character. Complete lines are cleaned and written.
    pub fn push(&mut self, raw: &[u8]) -> io::Result<()> {
        self.raw_bytes += raw.len() as u64;
        let mut rest = raw;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            self.take(&rest[..nl]);
            self.end_line()?;
            rest = &rest[nl + 1..];
        }
        self.take(rest);
        Ok(())
    }

    /// Raw bytes pushed so far.
    pub fn raw_bytes(&self) -> u64 {
        self.raw_bytes
    }

    /// Writes the last line (the raw log need not end with a newline) and the metadata. With
    /// `persist`, the entry is moved into the cache (when another writer already stored the same
    /// key, theirs is kept and returned; when the move fails otherwise, the log is returned
    /// unpersisted); without, the returned log owns its temporary directory and deletes it when
    /// dropped (for logs that still change). Either way, least recently used entries are then
    /// evicted down to the size cap (never the entry of this key), as are abandoned temporary
    /// directories.
    pub fn finish(mut self, persist: bool) -> io::Result<CachedLog> {
        if !self.pending.is_empty() {
            self.end_line()?;
        }
        if self.section_open
            && let Some(last) = self.sections.last_mut()
        {
            last.last = self.lines;
        }
        let LogWriter {
            text,
            idx,
            store,
            key,
            raw_bytes,
            text_bytes,
            lines,
            sections,
            text_sum,
            idx_sum,
            mut guard,
            ..
        } = self;
        for file in [text, idx] {
            // Closes the file, reporting a failed final write.
            file.into_inner().map_err(|e| e.into_error())?;
        }
        let checksum = Some(format!("{}{}", text_sum.hex(), idx_sum.hex()));
        let meta = LogMeta { lines, raw_bytes, text_bytes, sections, checksum };
        let json = serde_json::to_vec(&meta).map_err(io::Error::other)?;
        fs::write(guard.path.join(META_FILE), json)?;
        if !persist {
            store.evict(&key);
            return CachedLog::open_dir(&guard.path.clone(), Some(guard));
        }
        let target = store.dir.join(&key);
        let log = match fs::rename(&guard.path, &target) {
            Ok(()) => {
                guard.armed = false;
                CachedLog::open_dir(&target, None)?
            }
            Err(e) => match store.open(&key) {
                // Another writer stored this key first: use theirs, delete ours (by the guard).
                Some(theirs) => theirs,
                None => {
                    tracing::warn!("cannot store the log of {key} in the cache: {e}");
                    CachedLog::open_dir(&guard.path.clone(), Some(guard))?
                }
            },
        };
        store.evict(&key);
        Ok(log)
    }

    /// Appends to the pending raw line, keeping at most [`MAX_RAW_LINE`] bytes of it.
    fn take(&mut self, part: &[u8]) {
        let room = MAX_RAW_LINE.saturating_sub(self.pending.len());
        self.pending.extend_from_slice(&part[..part.len().min(room)]);
    }

    /// Cleans the pending raw line and writes it with its index entry and section.
    fn end_line(&mut self) -> io::Result<()> {
        let ts = first_timestamp(&self.pending);
        let text = clean_line(&self.pending);
        self.pending.clear();
        self.lines += 1;
        let (offset, ts_bytes) = (self.text_bytes.to_le_bytes(), ts.unwrap_or(0).to_le_bytes());
        self.idx.write_all(&offset)?;
        self.idx.write_all(&ts_bytes)?;
        self.idx_sum.update(&offset);
        self.idx_sum.update(&ts_bytes);
        self.text.write_all(text.as_bytes())?;
        self.text.write_all(b"\n")?;
        self.text_sum.update(text.as_bytes());
        self.text_sum.update(b"\n");
        self.text_bytes += text.len() as u64 + 1;
        if let Some(title) = section_name(&text) {
            if self.section_open
                && let Some(last) = self.sections.last_mut()
            {
                last.last = self.lines - 1;
            }
            self.section_open = self.sections.len() < MAX_SECTIONS;
            if self.section_open {
                self.sections.push(Section { title: title.to_string(), first: self.lines, last: self.lines, ts });
            }
        }
        Ok(())
    }
}

/// The first timestamp marker `bk;t=<milliseconds>\x07` of a raw line.
fn first_timestamp(raw: &[u8]) -> Option<i64> {
    let mut rest = raw;
    while let Some(at) = memchr::memmem::find(rest, b"bk;t=") {
        let after = &rest[at + 5..];
        let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && after.get(digits) == Some(&0x07) {
            let ms = std::str::from_utf8(&after[..digits]).ok().and_then(|d| d.parse::<i64>().ok());
            if ms.is_some() {
                return ms;
            }
        }
        rest = after;
    }
    None
}

/// A complete cached log, read by line range without loading it. The files stay open, so the log
/// stays readable even if the entry is evicted meanwhile (on Unix).
#[derive(Debug)]
pub struct CachedLog {
    // Files first: fields drop in order, so they are closed before the guard deletes the directory.
    text: File,
    idx: File,
    meta: LogMeta,
    text_path: PathBuf,
    size: u64,
    facts: Facts,
    /// Set when this log owns a temporary directory, deleted on drop.
    _owned: Option<DirGuard>,
}

impl CachedLog {
    /// Opens the entry in `dir`, checking that its files agree with its metadata.
    fn open_dir(dir: &Path, owned: Option<DirGuard>) -> io::Result<CachedLog> {
        let meta_bytes = fs::read(dir.join(META_FILE))?;
        let meta: LogMeta = serde_json::from_slice(&meta_bytes).map_err(|e| invalid(e.to_string()))?;
        let text_path = dir.join(TEXT_FILE);
        let text = File::open(&text_path)?;
        let idx = File::open(dir.join(INDEX_FILE))?;
        let idx_len = idx.metadata()?.len();
        if text.metadata()?.len() != meta.text_bytes || Some(idx_len) != meta.lines.checked_mul(INDEX_ENTRY) {
            return Err(invalid("log cache entry files disagree with its metadata"));
        }
        let size = meta_bytes.len() as u64 + meta.text_bytes + idx_len;
        let foreign = private_entry(dir, &[&text, &idx]).err();
        let checksum_ok = owned.is_some() || checksum_matches(&meta, &text, &idx)?;
        let facts = Facts { raw_bytes: meta.raw_bytes, checksum_ok, foreign };
        Ok(CachedLog { text, idx, meta, text_path, size, facts, _owned: owned })
    }

    /// What the checks found: its size, checksum and owner.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// What the log's metadata says: line count, sizes and sections.
    pub fn meta(&self) -> &LogMeta {
        &self.meta
    }

    /// The cleaned text file, one line per line of the raw log.
    pub fn text_path(&self) -> &Path {
        &self.text_path
    }

    /// Bytes the entry takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.size
    }

    /// Up to `count` lines (at most [`MAX_READ_LINES`]) from line `first` (1-based; 0 reads as 1).
    /// Past the end, no lines.
    pub fn read(&self, first: u64, count: usize) -> io::Result<Vec<Line>> {
        let first = first.max(1);
        let lines = self.meta.lines;
        if count == 0 || first > lines {
            return Ok(Vec::new());
        }
        let count = (count.min(MAX_READ_LINES) as u64).min(lines - first + 1);
        let last = first + count - 1;
        // Index entries of the lines read and, unless the last is the log's last, of the next line.
        let entries = if last < lines { count + 1 } else { count };
        let mut idx = vec![0u8; (entries * INDEX_ENTRY) as usize];
        read_exact_at(&self.idx, &mut idx, (first - 1) * INDEX_ENTRY)?;
        let field = |i: u64, at: usize| -> [u8; 8] {
            let mut bytes = [0u8; 8];
            let start = (i * INDEX_ENTRY) as usize + at;
            bytes.copy_from_slice(&idx[start..start + 8]);
            bytes
        };
        let start = u64::from_le_bytes(field(0, 0));
        let end = if last < lines { u64::from_le_bytes(field(count, 0)) } else { self.meta.text_bytes };
        if end < start || end - start > count * MAX_LINE_BYTES {
            return Err(invalid("log cache index is corrupt"));
        }
        let mut text = vec![0u8; (end - start) as usize];
        read_exact_at(&self.text, &mut text, start)?;
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let from = u64::from_le_bytes(field(i, 0)).wrapping_sub(start) as usize;
            let to = if i + 1 < count { u64::from_le_bytes(field(i + 1, 0)).wrapping_sub(start) } else { end - start };
            let to = to as usize;
            // Each line ends with its `\n`.
            let bytes = text.get(from..to.saturating_sub(1)).ok_or_else(|| invalid("log cache index is corrupt"))?;
            let ts = i64::from_le_bytes(field(i, 8));
            out.push(Line {
                number: first + i,
                text: String::from_utf8_lossy(bytes).into_owned(),
                ts: (ts != 0).then_some(ts),
            });
        }
        Ok(out)
    }

    /// The last `count` lines (at most [`MAX_READ_LINES`]).
    pub fn tail(&self, count: usize) -> io::Result<Vec<Line>> {
        let count = count.min(MAX_READ_LINES);
        let first = self.meta.lines.saturating_sub(count as u64) + 1;
        self.read(first, count)
    }

    /// Byte offset in the text file where line `line` (1-based) starts; the text size past the end.
    pub(crate) fn line_offset(&self, line: u64) -> io::Result<u64> {
        if line == 0 || line > self.meta.lines {
            return Ok(self.meta.text_bytes);
        }
        let mut bytes = [0u8; 8];
        read_exact_at(&self.idx, &mut bytes, (line - 1) * INDEX_ENTRY)?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// Fills `buf` from the text file at byte `offset`.
    pub(crate) fn read_text_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        read_exact_at(&self.text, buf, offset)
    }
}

/// Whether an entry's directory and opened files are this user's and private: real directories and
/// files (no symlink), owned by this user, writable by no one else.
fn private_entry(dir: &Path, files: &[&File]) -> Result<(), String> {
    let meta = fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err("the entry is not a real directory".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = fs::metadata("/proc/self").map(|m| m.uid()).ok();
        let check = |m: &fs::Metadata, what: &str| -> Result<(), String> {
            if me.is_some_and(|me| me != m.uid()) {
                return Err(format!("its {what} belongs to uid {}, not this user", m.uid()));
            }
            if m.mode() & 0o022 != 0 {
                return Err(format!("its {what} is writable by others"));
            }
            Ok(())
        };
        check(&meta, "directory")?;
        for file in files {
            let m = file.metadata().map_err(|e| e.to_string())?;
            if !m.is_file() {
                return Err("it holds something that is not a file".into());
            }
            check(&m, "files")?;
        }
    }
    let _ = files;
    Ok(())
}

/// Entries whose checksum was verified in this process, by file identity and modification time,
/// so a large log is hashed once, not on every call.
static VERIFIED: std::sync::Mutex<Vec<(u64, u64, u64, i128)>> = std::sync::Mutex::new(Vec::new());

/// Whether `log.txt` and `lines.idx` hash to the checksum in `meta` (none recorded: no).
fn checksum_matches(meta: &LogMeta, text: &File, idx: &File) -> io::Result<bool> {
    let Some(expected) = &meta.checksum else { return Ok(false) };
    let identity = |f: &File| -> io::Result<(u64, u64, u64, i128)> {
        let m = f.metadata()?;
        let mtime =
            m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as i128);
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Ok((dev, ino, m.len(), mtime))
    };
    let key = identity(text)?;
    let idx_key = identity(idx)?;
    let known = |k| VERIFIED.lock().map(|v| v.contains(&k)).unwrap_or(false);
    if known(key) && known(idx_key) {
        return Ok(true);
    }
    let sum = |f: &File| -> io::Result<String> {
        use std::io::Read;
        let mut sum = Checksum::default();
        let mut reader = io::BufReader::with_capacity(256 * 1024, f);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            sum.update(&buf[..n]);
        }
        Ok(sum.hex())
    };
    let ok = format!("{}{}", sum(text)?, sum(idx)?) == *expected;
    if ok && let Ok(mut v) = VERIFIED.lock() {
        if v.len() > 4096 {
            v.clear();
        }
        v.push(key);
        v.push(idx_key);
    }
    Ok(ok)
}

/// An error for a cache entry whose contents make no sense.
fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Fills `buf` from `file` at `offset` without moving a shared cursor.
#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Fills `buf` from `file` at `offset`.
#[cfg(windows)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    let mut done = 0;
    while done < buf.len() {
        match file.seek_read(&mut buf[done..], offset + done as u64) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_cache_directory_is_made_private_and_never_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let open = tmp.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
        let store = LogStore::new(open.clone(), 1 << 20);
        drop(store.writer("job").unwrap());
        assert_eq!(fs::metadata(&open).unwrap().permissions().mode() & 0o777, 0o700);
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        let err = LogStore::new(link.clone(), 1 << 20).writer("job").unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert!(LogStore::new(link, 1 << 20).open("job").is_none());
    }

    fn store(dir: &Path) -> LogStore {
        LogStore::new(dir.join("logs"), 1 << 30)
    }

    fn write(store: &LogStore, key: &str, raw: &[u8], persist: bool) -> CachedLog {
        let mut w = store.writer(key).unwrap();
        w.push(raw).unwrap();
        w.finish(persist).unwrap()
    }

    fn texts(lines: &[Line]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    fn files(log: &CachedLog) -> (Vec<u8>, Vec<u8>, LogMeta) {
        let dir = log.text_path().parent().unwrap();
        (fs::read(dir.join(TEXT_FILE)).unwrap(), fs::read(dir.join(INDEX_FILE)).unwrap(), log.meta().clone())
    }

    const SAMPLE: &[u8] = "\x1b_bk;t=1795169802123\x07--- :rspec: Setup\n\
        bk;t=1795169802200\x07\x1b[32mok ✓\x1b[0m\n\
        Fetching 10%\rFetching 50%\rFetching 100%\r\n\
        \n\
        ^^^ +++\n\
        +++ :go: Tests\n\
        --- FAIL: TestAdd (0.00s)\n\
        naïve ünïcödé\n\
        last line without newline"
        .as_bytes();

    #[test]
    fn chunked_writes_give_the_same_entry_as_one_write() {
        let tmp = tempfile::tempdir().unwrap();
        let s = store(tmp.path());
        let whole = write(&s, "whole", SAMPLE, false);
        let mut w = s.writer("bytes").unwrap();
        for b in SAMPLE {
            w.push(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(w.raw_bytes(), SAMPLE.len() as u64);
        let bytewise = w.finish(false).unwrap();
        assert_eq!(files(&whole), files(&bytewise));
        let lines = bytewise.read(1, 100).unwrap();
        assert_eq!(lines[7].text, "naïve ünïcödé", "a character split across chunks survives");
    }

    #[test]
    fn cleaned_lines_keep_numbering_timestamps_and_last_frames() {
        let tmp = tempfile::tempdir().unwrap();
        let log = write(&store(tmp.path()), "job", SAMPLE, true);
        let lines = log.read(1, 100).unwrap();
        assert_eq!(
            texts(&lines),
            [
                "--- :rspec: Setup",
                "ok ✓",
                "Fetching 100%",
                "",
                "",
                "+++ :go: Tests",
                "--- FAIL: TestAdd (0.00s)",
                "naïve ünïcödé",
                "last line without newline"
            ]
        );
        assert_eq!(lines.iter().map(|l| l.number).collect::<Vec<_>>(), (1..=9).collect::<Vec<_>>());
        assert_eq!(lines[0].ts, Some(1_795_169_802_123));
        assert_eq!(lines[1].ts, Some(1_795_169_802_200));
        assert_eq!(lines[2].ts, None);
        let nonempty: Vec<&str> = texts(&lines).into_iter().filter(|t| !t.is_empty()).collect();
        assert_eq!(nonempty, super::super::clean_lines(SAMPLE, false), "cleaned exactly like clean_lines");
        let meta = log.meta();
        assert_eq!((meta.lines, meta.raw_bytes), (9, SAMPLE.len() as u64));
        assert_eq!(meta.text_bytes, fs::metadata(log.text_path()).unwrap().len());
    }

    #[test]
    fn sections_span_to_the_next_header_and_go_results_are_not_sections() {
        let tmp = tempfile::tempdir().unwrap();
        let log = write(&store(tmp.path()), "job", SAMPLE, true);
        assert_eq!(
            log.meta().sections,
            [
                Section { title: ":rspec: Setup".into(), first: 1, last: 5, ts: Some(1_795_169_802_123) },
                Section { title: ":go: Tests".into(), first: 6, last: 9, ts: None },
            ]
        );
        let raw = b"preamble\n~~~ one\n~~~ two\n";
        let log = write(&store(tmp.path()), "job2", raw, true);
        let spans: Vec<(u64, u64)> = log.meta().sections.iter().map(|s| (s.first, s.last)).collect();
        assert_eq!(spans, [(2, 2), (3, 3)]);
    }

    #[test]
    fn over_long_raw_lines_are_cut_before_cleaning() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = store(tmp.path()).writer("job").unwrap();
        w.push(b"start bk;t=42\x07").unwrap();
        let block = vec![b'x'; 1 << 20];
        for _ in 0..8 {
            w.push(&block).unwrap();
            assert!(w.pending.capacity() <= 2 * MAX_RAW_LINE, "the pending line stays bounded");
        }
        w.push(b"\nnext").unwrap();
        assert_eq!(w.raw_bytes(), 14 + (8 << 20) + 5);
        let log = w.finish(false).unwrap();
        let lines = log.read(1, 10).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].ts, Some(42));
        assert!(lines[0].text.starts_with("start xxx") && lines[0].text.ends_with('…'), "{}", lines[0].text);
        assert!(lines[0].text.chars().count() <= MAX_LINE_CHARS + 1);
        assert_eq!(lines[1].text, "next");
    }

    #[test]
    fn persisted_entries_open_again_and_invalid_keys_do_not() {
        let tmp = tempfile::tempdir().unwrap();
        let s = store(tmp.path());
        let written = write(&s, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", SAMPLE, true);
        let opened = s.open("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap();
        assert_eq!(opened.meta(), written.meta());
        assert_eq!(opened.read(1, 100).unwrap(), written.read(1, 100).unwrap());
        assert_eq!(opened.size_on_disk(), written.size_on_disk());
        assert!(s.open("missing").is_none());
        for bad in ["", "../logs", "a/b", ".tmp-1", &"a".repeat(65), "ä"] {
            assert!(s.open(bad).is_none(), "{bad:?}");
            assert!(s.writer(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn half_written_entries_do_not_open() {
        let tmp = tempfile::tempdir().unwrap();
        let s = store(tmp.path());
        write(&s, "job", SAMPLE, true);
        fs::remove_file(s.dir().join("job").join(META_FILE)).unwrap();
        assert!(s.open("job").is_none());
        write(&s, "job2", SAMPLE, true);
        fs::write(s.dir().join("job2").join(INDEX_FILE), b"short").unwrap();
        assert!(s.open("job2").is_none());
    }

    fn dir_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn dropped_writers_and_unpersisted_logs_delete_their_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let s = store(tmp.path());
        let mut w = s.writer("job").unwrap();
        w.push(b"partial").unwrap();
        assert_eq!(dir_names(s.dir()).len(), 1);
        drop(w);
        assert!(dir_names(s.dir()).is_empty(), "an unfinished writer leaves nothing");
        let running = write(&s, "job", b"still running\n", false);
        assert_eq!(running.read(1, 1).unwrap()[0].text, "still running");
        assert!(s.open("job").is_none(), "an unpersisted log is not in the cache");
        assert_eq!(dir_names(s.dir()).len(), 1);
        drop(running);
        assert!(dir_names(s.dir()).is_empty(), "an unpersisted log is deleted with its handle");
    }

    #[test]
    fn a_second_writer_of_the_same_key_gets_the_first_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let s = store(tmp.path());
        let mut first = s.writer("job").unwrap();
        let mut second = s.writer("job").unwrap();
        first.push(b"first\n").unwrap();
        second.push(b"second\n").unwrap();
        let a = first.finish(true).unwrap();
        let b = second.finish(true).unwrap();
        assert_eq!(a.read(1, 1).unwrap()[0].text, "first");
        assert_eq!(b.read(1, 1).unwrap()[0].text, "first");
        assert_eq!(dir_names(s.dir()), ["job"], "the loser's temporary directory is gone");
    }

    #[test]
    fn eviction_drops_least_recently_used_entries_but_never_the_newest() {
        let tmp = tempfile::tempdir().unwrap();
        let body = "a line of log text\n".repeat(100);
        let unbounded = store(tmp.path());
        let size = write(&unbounded, "probe", body.as_bytes(), true).size_on_disk();
        fs::remove_dir_all(unbounded.dir().join("probe")).unwrap();
        // Room for three entries.
        let s = LogStore::new(unbounded.dir().to_path_buf(), 3 * size + size / 2);
        let long_ago = SystemTime::now() - Duration::from_secs(600);
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            write(&s, key, body.as_bytes(), true);
            let meta = File::options().write(true).open(s.dir().join(key).join(META_FILE)).unwrap();
            meta.set_modified(long_ago + Duration::from_secs(i as u64 * 10)).unwrap();
        }
        assert!(s.open("a").is_some(), "opening marks a as recently used");
        // A writer that died long ago.
        let stale = s.dir().join(".tmp-1-1-1");
        fs::create_dir(&stale).unwrap();
        fs::write(stale.join(TEXT_FILE), "x").unwrap();
        let hour_ago = SystemTime::now() - Duration::from_secs(7200);
        File::options().write(true).open(stale.join(TEXT_FILE)).unwrap().set_modified(hour_ago).unwrap();
        File::open(&stale).unwrap().set_modified(hour_ago).unwrap();
        write(&s, "d", body.as_bytes(), true);
        assert_eq!(dir_names(s.dir()), ["a", "c", "d"], "b was the least recently used");
        // A single entry larger than the cap is still kept.
        let tiny = LogStore::new(s.dir().to_path_buf(), 1);
        write(&tiny, "e", body.as_bytes(), true);
        assert_eq!(dir_names(s.dir()), ["e"]);
    }

    #[test]
    fn read_and_tail_cover_ranges_and_the_end() {
        let tmp = tempfile::tempdir().unwrap();
        let raw: String = (1..=50).map(|i| format!("line {i}\n")).collect::<String>() + "line 51";
        let log = write(&store(tmp.path()), "job", raw.as_bytes(), true);
        assert_eq!(log.meta().lines, 51);
        assert_eq!(texts(&log.read(10, 3).unwrap()), ["line 10", "line 11", "line 12"]);
        assert_eq!(log.read(10, 3).unwrap()[0].number, 10);
        assert_eq!(texts(&log.read(0, 1).unwrap()), ["line 1"]);
        assert_eq!(texts(&log.read(50, 10).unwrap()), ["line 50", "line 51"]);
        assert!(log.read(52, 10).unwrap().is_empty());
        assert!(log.read(5, 0).unwrap().is_empty());
        assert_eq!(texts(&log.tail(2).unwrap()), ["line 50", "line 51"]);
        assert_eq!(log.tail(100).unwrap().len(), 51);
        assert_eq!(log.tail(1).unwrap()[0].number, 51);
        let empty = write(&store(tmp.path()), "empty", b"", true);
        assert_eq!(empty.meta().lines, 0);
        assert!(empty.tail(5).unwrap().is_empty());
        assert!(empty.read(1, 5).unwrap().is_empty());
        let trailing = write(&store(tmp.path()), "trailing", b"one\ntwo\n", true);
        assert_eq!(texts(&trailing.tail(5).unwrap()), ["one", "two"], "a final newline adds no line");
    }
}
