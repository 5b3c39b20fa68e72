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
    generate_run(path, bytes, true, 0);
}

/// [`generate`], with or without the failures, its timestamps and durations moved by `shift`.
fn generate_run(path: &Path, bytes: u64, failing: bool, shift: u64) {
    let file = std::fs::File::create(path).unwrap();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut written = 0u64;
    let mut n = 0u64;
    let mut ts = 1_795_169_802_000u64 + shift;
    while written < bytes {
        n += 1;
        ts += 7;
        let line = match n % 10_000 {
            5_000..=5_002 | 7_777 if !failing => {
                format!(
                    "\x1b_bk;t={ts}\x07\x1b[32m.\x1b[0m Spec::Model{} persists ({} ms)\n",
                    n % 977,
                    (n + shift / 1000) % 250
                )
            }
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
                (n + shift / 1000) % 250
            ),
        };
        out.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
    }
    if failing {
        out.write_all(b"\x1b_bk;t=1795169899999\x07\xf0\x9f\x9a\xa8 Error: The command exited with status 1\n")
            .unwrap();
    }
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

/// The fixture logs of real-looking failed jobs and the line that explains each failure.
const FIXTURES: [(&str, &str, &str); 7] = [
    ("4b323cb5-c060-43ad-9228-2edf85bbdb89", "Rust build (cargo)", "error[E0308]: mismatched types"),
    ("0a7b98c6-c8cf-44d4-a449-8375740f3b28", "Jest run", "● Checklist › dismisses the checklist"),
    ("ae8678e4-dd4c-4409-9fc2-b55413687223", "pytest run", "E       assert Decimal('10.01') == Decimal('10.00')"),
    (
        "f99173ca-1954-4e6d-8e9c-2cd180536e65",
        "Docker build (progress bars)",
        "KeyError: key not found: \"FIREBASE_PROJECT_ID\"",
    ),
    ("08d58486-29e1-47b4-b951-facf35dafc4d", "RSpec shard", "Failure/Error: expect(user.onboarding_checklist.pending)"),
    ("46e537cd-e9cc-406c-8032-90fe629b1f55", "ESLint", "'useEffect' is defined but never used"),
    ("4edbb889-e421-43c0-b98e-9e702d357b66", "Jest (web)", "● Checklist › renders items"),
];

/// For each fixture log: tokens of the digest, of a 50-line tail and of the whole cleaned log, and
/// whether each holds the real error line (in process, on the demo data).
async fn fixture_digests() {
    use buildkite_mcp_server::buildkite::Api;
    use buildkite_mcp_server::tools::{self, Access, Ctx, LogSettings, OrgDefault};
    println!("## Failure digest beside a 50-line tail and the whole log (fixture logs)\n");
    let cache = std::env::temp_dir().join(format!("bk-mcp-bench-digest-{}", std::process::id()));
    let logs = LogSettings::new(Some(cache.clone()), 1 << 30, 1 << 30);
    let ctx = Ctx { api: Api::demo(), access: Access::default(), org: OrgDefault::new(Some("acme".into())), logs };
    let call = |name: &'static str, args: Value| {
        let ctx = &ctx;
        async move { tools::call(ctx, name, args.as_object().cloned().unwrap(), &tools::Progress::default()).await.unwrap() }
    };
    println!("| job | digest tokens | has the error line | 50-line tail tokens | has it | whole log tokens |");
    println!("|---|---:|:---:|---:|:---:|---:|");
    let yes = |b: bool| if b { "yes" } else { "**no**" };
    for (job, what, error) in FIXTURES {
        let escaped = serde_json::to_string(error).unwrap();
        let needle = &escaped[1..escaped.len() - 1];
        let digest = call("log_digest", json!({"job": job})).await;
        let tail = call("tail_log", json!({"job": job, "lines": 50})).await;
        let raw = buildkite_mcp_server::demo::LOGS.iter().find(|(u, _)| *u == job).unwrap().1;
        let whole = buildkite_mcp_server::logs::clean_lines(raw.as_bytes(), false).join("\n");
        println!(
            "| {what} | {} | {} | {} | {} | {} |",
            tokens(&digest),
            yes(digest.contains(needle)),
            tokens(&tail),
            yes(tail.contains(needle)),
            tokens(&whole)
        );
    }
    println!();
    let _ = std::fs::remove_dir_all(&cache);
}

pub async fn run() {
    fixture_digests().await;
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

/// GNU `diff` of two files: its time and peak memory (through `/usr/bin/time -f %M`, in KB).
fn gnu_diff(baseline: &Path, failing: &Path) -> Option<(Duration, u64)> {
    let start = Instant::now();
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%M", "diff"])
        .arg(baseline)
        .arg(failing)
        .stdout(std::process::Stdio::null())
        .output()
        .ok()?;
    let took = start.elapsed();
    let kb = String::from_utf8_lossy(&out.stderr).lines().last()?.trim().parse().ok()?;
    Some((took, kb))
}

/// `diff_log` on a generated pair of about `BENCH_DIFF_MB` (default 100) MB each: a failing log
/// (failures every 10,000 lines) against a passing one (the same lines, other timestamps and
/// durations), both downloaded into the cache by the call; then once more on the cached pair; the
/// server's peak RSS; GNU `diff` on the same two cleaned files.
pub async fn diff_log() {
    let mb: u64 = std::env::var("BENCH_DIFF_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    println!("## diff_log on a generated {mb} MB pair, beside GNU diff on the same cleaned files\n");
    let work = std::env::temp_dir().join(format!("bk-mcp-bench-diff-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let (failing_id, passing_id) =
        ("d0000000-0000-4000-8000-00000000f417".to_string(), "d0000000-0000-4000-8000-00000000a55e".to_string());
    let (failing_raw, passing_raw) = (work.join("failing.log"), work.join("passing.log"));
    generate_run(&failing_raw, mb * 1_000_000, true, 0);
    generate_run(&passing_raw, mb * 1_000_000, false, 3_600_000);
    let fake = FakeBuildkite::start().await;
    fake.set_big_log(&failing_id, BigLog::File(failing_raw.clone()));
    fake.set_big_log(&passing_id, BigLog::File(passing_raw.clone()));
    let known = [failing_id.clone(), passing_id.clone()];
    fake.set_responder(Box::new(move |op, vars| {
        let id = vars["uuid"].as_str()?;
        (op == "GetJobForLog" && known.iter().any(|u| u == id)).then(|| {
            json!({"data": {"job": {"__typename": "JobTypeCommand", "uuid": id, "label": ":rspec: RSpec",
                "state": "FINISHED", "finishedAt": "2026-11-20T10:30:00Z",
                "build": {"number": 1, "pipeline": {"slug": "web"}, "organization": {"slug": "acme"}}}}})
        })
    }));
    let cache = work.join("cache");
    let mut raw = Raw::spawn_with(
        Some(&fake),
        &["--max-log-mb", &(mb * 3).to_string()],
        &[("BUILDKITE_MCP_LOG_CACHE", cache.to_str().unwrap())],
    );
    raw.initialize().await;
    let args = json!({"job": failing_id, "baseline": passing_id});
    let (first, answer) = call(&mut raw, "diff_log", args.clone()).await;
    let first_text = text(&answer);
    let (cached, answer) = call(&mut raw, "diff_log", args).await;
    let cached_text_out = text(&answer);
    let peak = raw.memory_kb("VmHWM:").unwrap_or(0);
    let _ = raw.child.kill().await;
    let out: Value = serde_json::from_str(&cached_text_out).unwrap_or(Value::Null);
    println!("| | time | peak memory | tokens |\n|---|---:|---:|---:|");
    println!(
        "| diff_log, both logs downloaded, cleaned and cached | {} | {:.1} MB (server RSS, whole process) | {} |",
        ms(first),
        peak as f64 / 1024.0,
        tokens(&first_text)
    );
    println!("| diff_log, both cached | {} | | {} |", ms(cached), tokens(&cached_text_out));
    match gnu_diff(&cached_text(&cache, &passing_id), &cached_text(&cache, &failing_id)) {
        Some((took, kb)) => println!(
            "| GNU diff, the two cleaned files | {} | {:.1} MB | (output discarded) |",
            ms(took),
            kb as f64 / 1024.0
        ),
        None => println!("| GNU diff | not run (/usr/bin/time or diff missing) | | |"),
    }
    println!("\n- {}\n- diff_log said: {}\n", out["counts"], out["first_divergence"]);
    assert!(peak < 40 * 1024, "diff_log's peak RSS {peak} KB is over 40 MB");
    let _ = std::fs::remove_dir_all(&work);
}
