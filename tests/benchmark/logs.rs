//! Job logs at 1 MB, 100 MB and 1 GB (`cargo bench --bench benchmark -- logs`; sizes in MB from
//! `BENCH_LOG_MB`, default `1,100,1000`): the tail's time and bytes transferred, the first
//! download into the cache, search on the cached log beside ripgrep on the same file, and the
//! server's peak memory, each size in a fresh server process.

use super::{Raw, ms, percentile};
use crate::support::fake::{BigLog, FakeBuildkite};
use crate::support::tokens;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The searches timed, as (label, regex, case_sensitive): a rare literal and a common alternation.
const SEARCHES: [(&str, &str, bool); 2] =
    [("rare literal", "Segmentation fault", true), ("`error|failed`, ignore case", "error|failed", false)];

/// Writes a realistic raw log of about `bytes`: `bk;t=` timestamps, ANSI colours, sections,
/// progress bars, passing test lines and, rarely, failures.
fn generate(path: &Path, bytes: u64) {
    let file = std::fs::File::create(path).unwrap();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut written = 0u64;
    let mut n = 0u64;
    let mut ts = 1_795_169_802_000u64;
    while written < bytes {
        n += 1;
        ts += 7;
        let line = match n % 10_000 {
            0 => format!("\x1b_bk;t={ts}\x07--- :rspec: Running shard {}\n", n / 10_000),
            1 => format!("\x1b_bk;t={ts}\x07Downloading 10%\rDownloading 60%\rDownloading 100%\n"),
            5_000 => format!("\x1b_bk;t={ts}\x07\x1b[31mFailure/Error: expect(total).to eq(42)\x1b[0m\n"),
            5_001 => format!("\x1b_bk;t={ts}\x07  expected: 42\n"),
            5_002 => format!("\x1b_bk;t={ts}\x07       got: 41\n"),
            7_777 if n % 70_000 == 7_777 => {
                format!("\x1b_bk;t={ts}\x07/bin/ci/rspec: line 12: 4242 Segmentation fault (core dumped)\n")
            }
            _ => format!(
                "\x1b_bk;t={ts}\x07\x1b[32m.\x1b[0m Spec::Model{} validates attribute_{} and persists the record ({} ms)\n",
                n % 977,
                n % 31,
                n % 250
            ),
        };
        out.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
    }
    out.write_all(b"\x1b_bk;t=1795169899999\x07\xf0\x9f\x9a\xa8 Error: The command exited with status 1\n").unwrap();
    out.flush().unwrap();
}

/// The job UUID of the benchmark log of `mb` megabytes.
fn uuid(mb: u64) -> String {
    format!("b0000000-0000-4000-8000-{mb:012}")
}

/// Milliseconds of `rg` over `file` (median of 5; output discarded, as our search returns only
/// the first matches but counts all).
fn ripgrep(file: &Path, pattern: &str, case_sensitive: bool) -> Option<Duration> {
    let mut samples = Vec::new();
    for _ in 0..5 {
        let mut cmd = std::process::Command::new("rg");
        cmd.args(["-n", "-C2", "--no-config"]);
        if !case_sensitive {
            cmd.arg("-i");
        }
        cmd.arg(pattern).arg(file).stdout(std::process::Stdio::null());
        let start = Instant::now();
        let status = cmd.status().ok()?;
        samples.push(start.elapsed());
        if !status.success() && status.code() != Some(1) {
            return None;
        }
    }
    Some(percentile(&mut samples, 50))
}

fn text(answer: &Value) -> String {
    assert_eq!(answer["result"]["isError"], json!(false), "{answer}");
    answer["result"]["content"][0]["text"].as_str().unwrap_or("").to_string()
}

async fn call(raw: &mut Raw, tool: &str, args: Value) -> (Duration, Value) {
    let start = Instant::now();
    let answer = raw.request("tools/call", json!({"name": tool, "arguments": args})).await;
    (start.elapsed(), answer)
}

/// The cached cleaned log of job `uuid` under `cache`.
fn cached_text(cache: &Path, uuid: &str) -> PathBuf {
    cache.join(uuid).join("log.txt")
}

pub async fn run() {
    let sizes: Vec<u64> = std::env::var("BENCH_LOG_MB")
        .unwrap_or_else(|_| "1,100,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!("## Job logs: tail, first download, cached search beside ripgrep, memory\n");
    let work = std::env::temp_dir().join(format!("bk-mcp-bench-logs-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let fake = FakeBuildkite::start().await;
    let uuids: Vec<String> = sizes.iter().map(|mb| uuid(*mb)).collect();
    let known = uuids.clone();
    fake.set_responder(Box::new(move |op, vars| {
        let id = vars["uuid"].as_str()?;
        (op == "GetJobForLog" && known.iter().any(|u| u == id)).then(|| {
            json!({"data": {"job": {"__typename": "JobTypeCommand", "uuid": id, "label": ":rspec: RSpec",
                "state": "FINISHED", "finishedAt": "2026-11-20T10:30:00Z",
                "build": {"number": 1, "pipeline": {"slug": "web"}, "organization": {"slug": "acme"}}}}})
        })
    }));
    println!(
        "| log | tail 50 lines: time, bytes fetched | first search (download, clean, cache) | cached search | ripgrep, same file | ratio | peak RSS |"
    );
    println!("|---|---|---:|---|---|---:|---:|");
    let mut notes = Vec::new();
    for (mb, id) in sizes.iter().zip(&uuids) {
        let raw_path = work.join(format!("{mb}mb.log"));
        let started = Instant::now();
        generate(&raw_path, mb * 1_000_000);
        let raw_size = std::fs::metadata(&raw_path).unwrap().len();
        notes.push(format!("generated {mb} MB in {:.1} s", started.elapsed().as_secs_f64()));
        fake.set_big_log(id, BigLog::File(raw_path.clone()));
        let cache = work.join(format!("cache-{mb}"));
        let _ = std::fs::remove_dir_all(&cache);
        let mut raw = Raw::spawn_with(Some(&fake), &[], &[("BUILDKITE_MCP_LOG_CACHE", cache.to_str().unwrap())]);
        raw.initialize().await;

        // Tail: not cached yet, so one suffix-Range request.
        let before = fake.log_bytes_sent();
        let (tail_time, answer) = call(&mut raw, "tail_log", json!({"job": id, "lines": 50})).await;
        let tail_tokens = tokens(&text(&answer));
        let tail_bytes = fake.log_bytes_sent() - before;
        let tail_rss = raw.memory_kb("VmHWM:").unwrap_or(0);

        // First search: downloads the whole log through the cleaner into the cache.
        let (first_time, answer) =
            call(&mut raw, "search_log", json!({"job": id, "pattern": SEARCHES[0].1, "case_sensitive": true})).await;
        let _ = text(&answer);
        let download_mbs = raw_size as f64 / 1e6 / first_time.as_secs_f64();

        let file = cached_text(&cache, id);
        let mut cells = Vec::new();
        let mut rg_cells = Vec::new();
        let mut ratios = Vec::new();
        for (label, pattern, case) in SEARCHES {
            let mut samples = Vec::new();
            let mut last = Value::Null;
            for _ in 0..5 {
                let (t, answer) = call(
                    &mut raw,
                    "search_log",
                    json!({"job": id, "pattern": pattern, "case_sensitive": case, "context": 2, "max_matches": 20}),
                )
                .await;
                samples.push(t);
                last = answer;
            }
            let ours = percentile(&mut samples, 50);
            let out: Value = serde_json::from_str(&text(&last)).unwrap_or(Value::Null);
            let text_mb = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
            cells.push(format!(
                "{label}: {} ({:.0} MB/s, {} matches)",
                ms(ours),
                text_mb / ours.as_secs_f64(),
                out["matches"]
            ));
            match ripgrep(&file, pattern, case) {
                Some(rg) => {
                    rg_cells.push(format!("{label}: {}", ms(rg)));
                    ratios.push(format!("{:.2}×", ours.as_secs_f64() / rg.as_secs_f64()));
                }
                None => {
                    rg_cells.push(format!("{label}: rg not installed"));
                    ratios.push("-".into());
                }
            }
        }
        let peak = raw.memory_kb("VmHWM:").unwrap_or(0);
        println!(
            "| {mb} MB ({:.1} MB raw) | {}, {} B ({tail_tokens} tokens) | {} ({download_mbs:.0} MB/s) | {} | {} | {} | {:.1} MB (after tail {:.1} MB) |",
            raw_size as f64 / 1e6,
            ms(tail_time),
            tail_bytes,
            ms(first_time),
            cells.join("<br>"),
            rg_cells.join("<br>"),
            ratios.join(" / "),
            peak as f64 / 1024.0,
            tail_rss as f64 / 1024.0,
        );
        // Digest of the cached log, for the record.
        let (digest_time, answer) = call(&mut raw, "log_digest", json!({"job": id})).await;
        notes.push(format!(
            "{mb} MB: log_digest {} → {} tokens; cleaned log {:.1} MB on disk",
            ms(digest_time),
            tokens(&text(&answer)),
            std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) as f64 / 1e6
        ));
        let _ = raw.child.kill().await;
        let _ = std::fs::remove_file(&raw_path);
        let _ = std::fs::remove_dir_all(&cache);
    }
    println!();
    for note in notes {
        println!("- {note}");
    }
    println!(
        "\nOur search times are whole MCP round trips (JSON-RPC over stdio, one HEAD access check to the fake, the search, rendering); ripgrep's are process runs on the cached cleaned file.\n"
    );
    let _ = std::fs::remove_dir_all(&work);
}
