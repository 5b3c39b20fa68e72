//! The log cache trusts only what it can check: each tampered entry is served correctly (checked,
//! dropped, downloaded again once) or the cache is refused with one sentence and logs are read
//! uncached.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use buildkite_mcp_server::logs::store::LogStore;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use support::fake::FakeBuildkite;

const RSPEC_JOB: &str = "08d58486-29e1-47b4-b951-facf35dafc4d";
/// A uid nobody here has.
const OTHER_UID: u32 = 4242;

fn read_args() -> Value {
    json!({"job": RSPEC_JOB, "from_line": 10, "lines": 15})
}

/// A private cache directory for one test.
fn cache_dir(what: &str) -> PathBuf {
    let dir = support::fresh_dir(what).join("logs");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

async fn server(fake: &FakeBuildkite, dir: &Path) -> support::Client {
    support::connect(Some(fake), &[("BUILDKITE_MCP_LOG_CACHE", dir.to_str().unwrap())], &[]).await
}

/// The true answer, from a server with its own fresh cache.
async fn truth(fake: &FakeBuildkite) -> String {
    let client = support::connect(Some(fake), &[], &[]).await;
    let text = client.ok("read_log", read_args()).await;
    client.stop().await;
    text
}

fn chown_all(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), None).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_all(&entry.unwrap().path(), uid);
        }
    }
}

#[tokio::test]
async fn a_planted_self_consistent_entry_is_caught_by_its_size_and_replaced() {
    let fake = FakeBuildkite::start().await;
    let truth = truth(&fake).await;
    let dir = cache_dir("planted");
    // A complete, checksummed entry, written by the store itself: only its size gives it away.
    let store = LogStore::new(dir.clone(), 1 << 30);
    let mut writer = store.writer(RSPEC_JOB).unwrap();
    for i in 0..40 {
        writer.push(format!("PLANTED line {i}: all tests passed\n").as_bytes()).unwrap();
    }
    writer.finish(true).unwrap();
    assert!(store.open(RSPEC_JOB).is_some(), "the planted entry opens on its own");
    let client = server(&fake, &dir).await;
    let downloads = fake.log_downloads();
    let text = client.ok("read_log", read_args()).await;
    assert_eq!(text, truth, "the real log is served");
    assert_eq!(fake.log_downloads() - downloads, 1, "downloaded again once");
    let again = client.ok("read_log", read_args()).await;
    assert_eq!(again, truth);
    assert_eq!(fake.log_downloads() - downloads, 1, "the replacement is served from the cache");
    client.stop().await;
}

#[tokio::test]
async fn an_entry_owned_by_another_user_is_not_served() {
    let fake = FakeBuildkite::start().await;
    let dir = cache_dir("foreign-entry");
    let client = server(&fake, &dir).await;
    let truth = client.ok("read_log", read_args()).await;
    chown_all(&dir.join(RSPEC_JOB), OTHER_UID);
    let downloads = fake.log_downloads();
    assert_eq!(client.ok("read_log", read_args()).await, truth);
    assert_eq!(fake.log_downloads() - downloads, 1, "the foreign entry was dropped and the log downloaded");
    let meta = std::fs::metadata(dir.join(RSPEC_JOB)).unwrap();
    assert_ne!(std::os::unix::fs::MetadataExt::uid(&meta), OTHER_UID, "replaced by this user's entry");
    client.stop().await;
}

/// A cache directory that cannot be trusted (another user's, or under a symlink) is not used:
/// logs are read uncached, and stderr says so once.
#[tokio::test]
async fn an_untrusted_cache_directory_means_uncached_reads_said_once() {
    let fake = FakeBuildkite::start().await;
    let truth = truth(&fake).await;
    let foreign = cache_dir("foreign-dir");
    chown_all(&foreign, OTHER_UID);
    let real = support::fresh_dir("symlink-target");
    let link = support::fresh_dir("symlink").join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    for dir in [foreign.clone(), link.join("logs")] {
        let client = server(&fake, &dir).await;
        let downloads = fake.log_downloads();
        for _ in 0..3 {
            assert_eq!(client.ok("read_log", read_args()).await, truth, "{}", dir.display());
            assert!(client.ok("search_log", json!({"job": RSPEC_JOB, "pattern": "rspec"})).await.contains("matches"));
        }
        assert_eq!(fake.log_downloads() - downloads, 6, "uncached: each call downloads");
        let stderr = client.stop().await;
        assert_eq!(stderr.matches("cannot be used").count(), 1, "said once: {stderr}");
        assert!(stderr.contains("BUILDKITE_MCP_LOG_CACHE"), "says what to do: {stderr}");
    }
    assert!(!real.join("logs").exists(), "nothing was written through the symlink");
}

#[tokio::test]
async fn a_corrupt_index_or_meta_is_replaced_once() {
    let fake = FakeBuildkite::start().await;
    let dir = cache_dir("corrupt");
    let client = server(&fake, &dir).await;
    let truth = client.ok("read_log", read_args()).await;
    let entry = dir.join(RSPEC_JOB);
    // A corrupt index: offsets that point elsewhere (same size, so only the checksum sees it).
    let mut idx = std::fs::read(entry.join("lines.idx")).unwrap();
    for b in idx.iter_mut().skip(160).take(64) {
        *b = 0xff;
    }
    std::fs::write(entry.join("lines.idx"), idx).unwrap();
    let downloads = fake.log_downloads();
    assert_eq!(client.ok("read_log", read_args()).await, truth);
    assert!(client.ok("search_log", json!({"job": RSPEC_JOB, "pattern": "rspec"})).await.contains("matches"));
    assert_eq!(fake.log_downloads() - downloads, 1, "downloaded again once, then cached");
    // A corrupt meta.json: replaced once, not downloaded on every call.
    std::fs::write(entry.join("meta.json"), b"{\"lines\": ").unwrap();
    let downloads = fake.log_downloads();
    for _ in 0..3 {
        assert_eq!(client.ok("read_log", read_args()).await, truth);
    }
    assert_eq!(fake.log_downloads() - downloads, 1, "replaced once");
    client.stop().await;
}

/// Where Buildkite states no size, this user's own checked entry is served, and a damaged one
/// is downloaded again.
#[tokio::test]
async fn without_a_stated_size_only_a_checked_entry_of_ours_is_served() {
    let fake = FakeBuildkite::start().await;
    fake.hide_log_size(true);
    let dir = cache_dir("no-size");
    let client = server(&fake, &dir).await;
    let truth = client.ok("read_log", read_args()).await;
    let downloads = fake.log_downloads();
    assert_eq!(client.ok("read_log", read_args()).await, truth);
    assert_eq!(fake.log_downloads(), downloads, "served from the cache");
    // Damage the text without changing its size.
    let text_path = dir.join(RSPEC_JOB).join("log.txt");
    let mut text = std::fs::read(&text_path).unwrap();
    let n = text.len();
    text[n / 2..n / 2 + 16].copy_from_slice(b"XXXXXXXXXXXXXXXX");
    std::fs::write(&text_path, text).unwrap();
    assert_eq!(client.ok("read_log", read_args()).await, truth);
    assert_eq!(fake.log_downloads() - downloads, 1, "in doubt, downloaded again");
    client.stop().await;
}
