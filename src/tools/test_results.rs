//! A build's Test Engine results, read page by page until the last page or a cap, for the tools
//! that show a build's tests (`list_tests build=`, the failure summary). What was not read — pages
//! beyond the cap, a page whose request failed — is said, never silently dropped.

use crate::buildkite::{Api, ApiError};
use serde_json::Value;

/// Most pages read in one call: with the log tails, a summary stays well within Buildkite's
/// 50-requests-a-minute user limit.
pub const MAX_PAGES: u32 = 5;
/// Tests asked for per page (the API's largest page).
pub const PER_PAGE: u32 = 100;

/// The tests read, and what was not.
#[derive(Debug, Default)]
pub struct BuildTests {
    /// Every test of the pages read, in the API's order.
    pub tests: Vec<Value>,
    /// Pages read.
    pub pages: u32,
    /// The next page not read because of the cap.
    pub next_page: Option<u32>,
    /// Why reading stopped early, when a request failed (the first page's error is returned instead).
    pub failed: Option<String>,
}

/// Reads `GET /v2/analytics/organizations/{org}/builds/{uuid}/tests` from page `first` on, up to
/// [`MAX_PAGES`] pages. The first page's error is the caller's to report; a later page's is kept
/// in [`BuildTests::failed`] beside the tests already read.
pub async fn read(api: &Api, org: &str, build_uuid: &str, first: u32) -> Result<BuildTests, ApiError> {
    read_up_to(api, org, build_uuid, first, MAX_PAGES).await
}

/// [`read`], reading at most `max_pages` pages (at least one).
pub async fn read_up_to(
    api: &Api,
    org: &str,
    build_uuid: &str,
    first: u32,
    max_pages: u32,
) -> Result<BuildTests, ApiError> {
    let max_pages = max_pages.clamp(1, MAX_PAGES);
    let path = format!("v2/analytics/organizations/{org}/builds/{build_uuid}/tests");
    let mut out = BuildTests::default();
    let mut page = first.max(1);
    loop {
        let query = [("per_page", PER_PAGE.to_string()), ("page", page.to_string())];
        let answer = match api.rest_json(&path, &query).await {
            Ok(a) => a,
            Err(e) if out.pages == 0 => return Err(e),
            Err(e) => {
                out.failed = Some(format!("page {page} of the tests could not be read ({e})"));
                out.next_page = Some(page);
                return Ok(out);
            }
        };
        out.pages += 1;
        out.tests.extend(answer.body.as_array().into_iter().flatten().cloned());
        match answer.next_page {
            Some(next) if next > page && out.pages < max_pages => page = next,
            Some(next) if next > page => {
                out.next_page = Some(next);
                return Ok(out);
            }
            _ => return Ok(out),
        }
    }
}
