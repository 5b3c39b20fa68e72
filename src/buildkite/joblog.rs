//! Whole job logs over REST (the organization-scoped route `GET /v2/organizations/{org}/jobs/{uuid}/log`):
//! a `HEAD` that checks the caller may read a log and says its size, a streamed download bounded by a
//! size limit, and a suffix-`Range` tail that never transfers more than asked.

use super::Api;
use super::error::ApiError;
use super::rest::LogTail;

/// The organization-scoped log route of a job.
fn log_path(org: &str, job: &str) -> String {
    format!("v2/organizations/{org}/jobs/{job}/log")
}

fn not_found(job: &str) -> ApiError {
    ApiError::NotFound {
        what: format!("the log of job {job}"),
        hint: "it may not have started yet, it may have expired or been deleted, or the token lacks read_build_logs"
            .into(),
    }
}

impl Api {
    /// Whether the token may read the job's log (a `HEAD`), and its size in bytes when known.
    /// Every log tool calls this before serving a cached copy, so the cache never outlives access.
    pub async fn job_log_size(&self, org: &str, job: &str) -> Result<Option<u64>, ApiError> {
        let url = self.rest_url(&log_path(org, job))?;
        let headers = match self.http.head(&url).await {
            Ok(h) => h,
            Err(ApiError::NotFound { .. }) => return Err(not_found(job)),
            Err(e) => return Err(e),
        };
        Ok(headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()))
    }

    /// Downloads the whole log, handing each chunk to `sink` as it arrives (so memory stays flat),
    /// and stops with [`ApiError::LogTooLarge`] past `max_bytes`. Each chunk must arrive within
    /// the request timeout (the whole download may take longer). Returns the bytes received and
    /// the size Buildkite announced, when it did.
    pub async fn job_log_stream(
        &self,
        org: &str,
        job: &str,
        max_bytes: u64,
        sink: &mut (dyn FnMut(&[u8]) -> std::io::Result<()> + Send),
    ) -> Result<(u64, Option<u64>), ApiError> {
        let sink_error =
            |e: std::io::Error| ApiError::Cache { dir: "the cache directory".into(), detail: e.to_string() };
        let url = self.rest_url(&log_path(org, job))?;
        let idle = self.http.timeout();
        let mut body = match self.http.get_stream(&url, &[("accept", "text/plain")]).await {
            Ok(body) => body,
            Err(ApiError::NotFound { .. }) => return Err(not_found(job)),
            Err(e) => return Err(e),
        };
        let expected = body.size_hint();
        if let Some(size) = expected.filter(|n| *n > max_bytes) {
            return Err(ApiError::LogTooLarge { job: job.to_string(), size, limit: max_bytes });
        }
        let stalled = ApiError::Timeout { seconds: idle.as_secs().max(1), attempts: 1 };
        let mut received = 0u64;
        loop {
            // Chunks already buffered arrive without a pause; this yields now and then, so a
            // cancelled call (a `select!` around it) stops the download at once.
            tokio::task::consume_budget().await;
            let next = tokio::time::timeout(idle, body.chunk()).await.map_err(|_| stalled.clone())?;
            let chunk = match next {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(ApiError::Timeout { .. }) => return Err(stalled),
                Err(e) => return Err(e),
            };
            received += chunk.len() as u64;
            if received > max_bytes {
                return Err(ApiError::LogTooLarge { job: job.to_string(), size: received, limit: max_bytes });
            }
            sink(&chunk).map_err(sink_error)?;
        }
        Ok((received, expected))
    }

    /// The last `max_bytes` of a job's log through the organization-scoped route.
    pub async fn job_log_tail_org(&self, org: &str, job: &str, max_bytes: u64) -> Result<LogTail, ApiError> {
        self.log_tail_at(&log_path(org, job), job, max_bytes).await
    }
}
