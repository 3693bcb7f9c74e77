//! An Open Referral UK API feed, read page by page: `GET {base}/services?page=N&per_page=M`
//! (HSDS 3 / ORUK API v3), each page a paginated list: `contents` (services, read by
//! [`parse_import`]'s own rules) and the page fields `page_number`, `total_pages`,
//! `last_page`, `empty` (and `total_items`, `size`, `first_page`, not needed here). Pages
//! start at 1. Reading stops after the page that says it is the last (`last_page`, else
//! `page_number >= total_pages`, else a page shorter than asked for); the whole feed or
//! nothing: any page that is not 200, not JSON, not a page or holds a refused service fails
//! the read, naming the page.

use std::time::Duration;

use reqwest::Url;
use serde_json::Value;

use super::{DirectoryService, parse_import};

/// Most pages one read follows: a feed that never says it is done is refused.
pub const MAX_PAGES: u32 = 10_000;
/// Largest page body, in bytes (as `importDirectory` takes).
pub const MAX_PAGE_BYTES: usize = 32 * 1024 * 1024;
/// Longest wait for one page.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest error kept: a feed's words are not ours to store without bound.
const MAX_ERROR_CHARS: usize = 2_000;

/// Where the directory comes from and how often (`LINKWAY_DIRECTORY_FEED_URL`,
/// `LINKWAY_DIRECTORY_FEED_PAGE_SIZE`, `LINKWAY_DIRECTORY_SYNC_INTERVAL_SECS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    base: Url,
    /// Services asked for per page (`per_page`).
    pub page_size: u32,
    /// How often a sync runs by itself; `None`: only on demand.
    pub interval: Option<Duration>,
}

impl Feed {
    /// A feed at `base` (the API's root: `/services` is under it), refusing anything but
    /// an absolute http(s) URL and a page size of 1 to 1000.
    pub fn new(base: &str, page_size: u32, interval: Option<Duration>) -> Result<Feed, String> {
        let base = Url::parse(base.trim()).map_err(|e| format!("is not a URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err("must be an http(s) URL with a host".into());
        }
        if !(1..=1000).contains(&page_size) {
            return Err(format!("page size {page_size} must be 1 to 1000"));
        }
        Ok(Feed {
            base,
            page_size,
            interval,
        })
    }

    /// The feed as it may be shown and stored: scheme, host, port and path, without a
    /// user, password or query (which may hold an API key).
    pub fn shown(&self) -> String {
        let mut shown = self.base.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        shown.set_query(None);
        shown.set_fragment(None);
        shown.as_str().trim_end_matches('/').to_owned()
    }

    /// `{base}/services?page=N&per_page=M`, keeping the base's own query.
    pub fn page_url(&self, page: u32) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("services");
        }
        url.query_pairs_mut()
            .append_pair("page", &page.to_string())
            .append_pair("per_page", &self.page_size.to_string());
        url
    }
}

/// Every service of the feed, and how many pages held them.
#[derive(Debug)]
pub struct Fetched {
    pub services: Vec<DirectoryService>,
    pub pages: u32,
}

/// Why the feed could not be read whole: the pages read (the failing one included) and
/// what was wrong, naming the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    pub pages: u32,
    pub message: String,
}

/// One page read: its services and whether it is the last.
#[derive(Debug)]
pub struct Page {
    pub services: Vec<DirectoryService>,
    pub last: bool,
}

/// Reads page `number` of `size` services from its JSON body (pure).
pub fn read_page(number: u32, size: u32, body: &[u8]) -> Result<Page, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("not JSON (line {}, column {})", e.line(), e.column()))?;
    let Some(object) = value.as_object() else {
        return Err("not a page of services (an object with contents)".into());
    };
    let empty = object.get("empty").and_then(Value::as_bool) == Some(true);
    let listed = match object.get("contents") {
        Some(Value::Array(items)) => items.len(),
        None if empty => 0,
        _ => return Err("not a page of services: contents must be an array".into()),
    };
    let number_field = |name: &str| object.get(name).and_then(Value::as_u64);
    if let Some(said) = number_field("page_number")
        && said != u64::from(number)
    {
        return Err(format!(
            "asked for page {number}, the feed answered page {said}"
        ));
    }
    let services = if listed == 0 {
        Vec::new()
    } else {
        parse_import(&value).map_err(|errors| {
            let said: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            said.join("; ")
        })?
    };
    let last = match (
        object.get("last_page").and_then(Value::as_bool),
        number_field("total_pages"),
    ) {
        _ if empty || listed == 0 => true,
        (Some(last), _) => last,
        (None, Some(total)) => u64::from(number) >= total,
        (None, None) => listed < size as usize,
    };
    Ok(Page { services, last })
}

/// Reads the whole feed with `http`, page 1 onwards, all or nothing.
pub async fn fetch(http: &reqwest::Client, feed: &Feed) -> Result<Fetched, FetchError> {
    let mut services: Vec<DirectoryService> = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for number in 1..=MAX_PAGES {
        let fail = |message: String| FetchError {
            pages: number,
            message: clip(format!("page {number}: {message}")),
        };
        let body = get_page(http, &feed.page_url(number)).await.map_err(fail)?;
        let page = read_page(number, feed.page_size, &body).map_err(fail)?;
        for service in page.services {
            if let Some(first) = seen.insert(service.id.clone(), number) {
                return Err(fail(format!(
                    "the service {} is also on page {first} (the feed changed while it was read?)",
                    service.id
                )));
            }
            services.push(service);
        }
        if page.last {
            return Ok(Fetched {
                services,
                pages: number,
            });
        }
    }
    Err(FetchError {
        pages: MAX_PAGES,
        message: format!("the feed did not end within {MAX_PAGES} pages"),
    })
}

/// One page's body: a 200 of at most [`MAX_PAGE_BYTES`].
async fn get_page(http: &reqwest::Client, url: &Url) -> Result<Vec<u8>, String> {
    let mut response = http
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(PAGE_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("the feed did not answer: {}", without_url(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the feed answered {status}"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("the answer broke off: {}", without_url(&e)))?
    {
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(format!(
                "the page is larger than {} MiB",
                MAX_PAGE_BYTES / (1024 * 1024)
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest's words without the URL (it may carry the feed's API key).
fn without_url(error: &reqwest::Error) -> String {
    let mut said = error.to_string();
    if let Some(url) = error.url() {
        said = said.replace(url.as_str(), "the feed");
    }
    let mut cause = std::error::Error::source(error);
    while let Some(c) = cause {
        said.push_str(": ");
        said.push_str(&c.to_string());
        cause = c.source();
    }
    said
}

fn clip(message: String) -> String {
    if message.chars().count() <= MAX_ERROR_CHARS {
        return message;
    }
    let mut clipped: String = message.chars().take(MAX_ERROR_CHARS).collect();
    clipped.push('…');
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(id: &str) -> Value {
        json!({"id": id, "name": format!("Service {id}"), "status": "active", "url": "https://x.example"})
    }

    fn page(body: Value) -> Vec<u8> {
        serde_json::to_vec(&body).unwrap()
    }

    #[test]
    fn the_page_url_keeps_the_base_and_its_query_and_the_shown_feed_drops_secrets() {
        let feed = Feed::new("https://u:p@directory.example/api/?key=s3cret", 2, None).unwrap();
        assert_eq!(
            feed.page_url(3).as_str(),
            "https://u:p@directory.example/api/services?key=s3cret&page=3&per_page=2"
        );
        assert_eq!(feed.shown(), "https://directory.example/api");
        let bare = Feed::new("http://127.0.0.1:9000", 100, None).unwrap();
        assert_eq!(
            bare.page_url(1).as_str(),
            "http://127.0.0.1:9000/services?page=1&per_page=100"
        );
        for (url, size) in [
            ("ftp://x.example", 10),
            ("/services", 10),
            ("https://x.example", 0),
        ] {
            assert!(Feed::new(url, size, None).is_err(), "{url} {size}");
        }
    }

    #[test]
    fn the_last_page_is_known_by_last_page_then_total_pages_then_a_short_page() {
        let two = || vec![service("a"), service("b")];
        let cases = [
            (
                json!({"contents": two(), "page_number": 1, "last_page": false, "total_pages": 1}),
                false,
            ),
            (
                json!({"contents": two(), "page_number": 1, "last_page": true, "total_pages": 9}),
                true,
            ),
            (
                json!({"contents": two(), "page_number": 1, "total_pages": 2}),
                false,
            ),
            (
                json!({"contents": two(), "page_number": 2, "total_pages": 2}),
                true,
            ),
            (json!({"contents": two()}), false),
            (json!({"contents": [service("a")]}), true),
            (json!({"contents": [], "empty": true}), true),
            (json!({"empty": true, "total_items": 0}), true),
        ];
        for (body, last) in cases {
            let number = body["page_number"].as_u64().unwrap_or(1) as u32;
            let read = read_page(number, 2, &page(body.clone())).unwrap();
            assert_eq!(read.last, last, "{body}");
        }
    }

    #[test]
    fn a_page_that_is_not_a_page_or_holds_a_refused_service_is_named() {
        let bad = json!({"contents": [service("a"), {"id": "b", "name": "B", "status": "closed", "url": "https://x.example"}]});
        let err = read_page(1, 2, &page(bad)).unwrap_err();
        assert!(err.contains("contents.1.status"), "{err}");
        assert!(read_page(1, 2, b"<html>").unwrap_err().contains("not JSON"));
        assert!(read_page(1, 2, b"[]").unwrap_err().contains("not a page"));
        let wrong = json!({"contents": [service("a")], "page_number": 4});
        assert!(
            read_page(3, 2, &page(wrong))
                .unwrap_err()
                .contains("answered page 4")
        );
    }
}
