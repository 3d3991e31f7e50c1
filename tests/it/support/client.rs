//! An HTTP client that talks to a hosted pub repository the way `dart pub` does
//! (docs/protocol.md §1.1–§1.4, §2.3), and fails where the real client fails.
//!
//! Known gap: reqwest always sends `Accept: */*` when no `Accept` is set, where dart:io
//! sends no `Accept` at all on archive downloads. No other header differs.
//!
//! The client is blocking: call it from a plain `#[test]`, with the server running on its
//! own runtime thread (reqwest's blocking client panics inside an async context).

use std::io::Read;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{self, HeaderMap};
use reqwest::redirect::Policy;
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};

use super::archive::{Extracted, extract};
use super::goog_hash::check_goog_hash;
use super::hosted_url::{
    check_absolute_http, encode_component, normalize_hosted_url, resolve, token_applies,
};
use super::listing::{ListedVersion, Listing};

/// The media type the client asks for on API requests (§1.2).
pub const PUB_ACCEPT: &str = "application/vnd.pub.v2+json";
/// What the client sends as `User-Agent` on every request (§6).
pub const USER_AGENT: &str = "Dart pub 3.11.0";

/// How a request failed, sorted by what the real client would do about it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// 404: "could not find package foo at <url>", exit 69.
    #[error("404 Not Found for {url}")]
    NotFound { url: String },
    /// 401 or 403: the client's authentication handling (§2.4).
    #[error("{status} for {url} (WWW-Authenticate: {www_authenticate:?})")]
    Auth {
        status: u16,
        url: String,
        www_authenticate: Option<String>,
    },
    /// Any other non-2xx status.
    #[error("status {status} for {url}: {body}")]
    Status {
        status: u16,
        url: String,
        body: String,
    },
    /// A 2xx listing the client rejects: "Got badly formatted response", exit 65.
    #[error("badly formatted response: {0}")]
    BadlyFormatted(String),
    /// The downloaded bytes do not hash to `archive_sha256` (exit 75 after retries).
    #[error("downloaded archive had wrong content-hash: listed {expected}, got {actual}")]
    WrongContentHash { expected: String, actual: String },
    /// A malformed or mismatching `x-goog-hash: crc32c=` (exit 75 after retries).
    #[error("bad x-goog-hash on archive: {0}")]
    BadChecksumHeader(String),
    /// The client crashes with "This is an unexpected error" (relative URLs), exit 1.
    #[error("the client would crash: {0}")]
    ClientCrash(String),
    /// A 4xx JSON `{"error":{"message"}}` from the hosted-url's origin during publish:
    /// "Message from server: <message>", exit 1.
    #[error("{status}, message from server: {message}")]
    ServerMessage { status: u16, message: String },
    /// A publish answer of the wrong shape: "Invalid server response", exit 1.
    #[error("Invalid server response: {0}")]
    InvalidServerResponse(String),
    /// The upload step failed: "Failed to upload the package.", exit 1.
    #[error("Failed to upload the package: {0}")]
    UploadFailed(String),
    /// "Failed to extract <archive>: <reason>", exit 65.
    #[error("Failed to extract archive: {0}")]
    Extract(String),
    /// The client copes (or silently degrades), but tagpub must never do this (§8, §9).
    #[error("nonconformant response: {0}")]
    Nonconformant(String),
    /// Connection failures, too many redirects and the like.
    #[error("transport error: {0}")]
    Transport(#[from] reqwest::Error),
}

/// A response as the client's HTTP layer sees it: body after transport decoding.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// The URL that answered, after redirects.
    pub url: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics when it is not, since callers expect JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} answered non-JSON ({e}): {}", self.url, self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A downloaded archive and what came with it.
#[derive(Debug)]
pub struct Download {
    pub bytes: Vec<u8>,
    pub headers: HeaderMap,
    /// The URL that answered, after redirects.
    pub url: String,
    /// Lower-case hex SHA-256 of `bytes`.
    pub sha256: String,
}

/// The client side of one hosted-url, optionally with a token for it.
#[derive(Debug, Clone)]
pub struct PubClient {
    hosted_url: String,
    token: Option<String>,
    http: Client,
    http_no_redirect: Client,
}

impl PubClient {
    /// Panics on a hosted-url the client would refuse (§1.1).
    pub fn new(hosted_url: &str) -> PubClient {
        let hosted_url = normalize_hosted_url(hosted_url)
            .unwrap_or_else(|e| panic!("the client refuses hosted-url {hosted_url:?}: {e}"));
        let build = |policy| {
            Client::builder()
                .redirect(policy)
                // Loopback traffic must never go through a proxy from the environment.
                .no_proxy()
                .build()
                .expect("a plain HTTP client always builds")
        };
        PubClient {
            hosted_url,
            token: None,
            // dart:io follows at most 5 redirects on GET (§1.4).
            http: build(Policy::limited(5)),
            http_no_redirect: build(Policy::none()),
        }
    }

    /// Stores a token for this hosted-url, as `dart pub token add` does.
    pub fn with_token(mut self, token: &str) -> PubClient {
        self.token = Some(token.to_owned());
        self
    }

    /// The normalised hosted-url, as written to `pubspec.lock`.
    pub fn hosted_url(&self) -> &str {
        &self.hosted_url
    }

    /// Resolves `relative` against the hosted-url, as the client builds API URLs.
    pub fn url(&self, relative: &str) -> String {
        resolve(&self.hosted_url, relative)
    }

    /// `<hosted-url>/api/packages/<name>`, the name encoded like `Uri.encodeComponent`.
    pub fn listing_url(&self, name: &str) -> String {
        self.url(&format!("api/packages/{}", encode_component(name)))
    }

    /// Whether the client attaches the token to `url`: a case-insensitive string prefix
    /// match against the hosted-url with a trailing `/` (§2.3).
    pub fn sends_token_to(&self, url: &str) -> bool {
        self.token.is_some() && token_applies(&self.hosted_url, url)
    }

    /// `GET <hosted-url>/api/packages/<name>`, validated exactly as the client does (§1.3).
    pub fn list(&self, name: &str) -> Result<Listing, ClientError> {
        let response = self.fetch(&self.listing_url(name), Some(PUB_ACCEPT), true)?;
        let response = expect_success(response)?;
        let text = decode_json_text(&response)?;
        let json = parse_json(&text)?;
        super::listing::parse(name, json, response.headers)
    }

    /// Downloads `version.archive_url` and checks it like the client; returns the bytes.
    pub fn download(&self, version: &ListedVersion) -> Result<Vec<u8>, ClientError> {
        Ok(self.download_response(version)?.bytes)
    }

    /// Like [`PubClient::download`], keeping headers and the final URL (§1.4).
    pub fn download_response(&self, version: &ListedVersion) -> Result<Download, ClientError> {
        let url = &version.archive_url;
        check_absolute_http(url).map_err(ClientError::ClientCrash)?;
        let response = expect_success(self.fetch(url, None, true)?)?;
        // dart:io would un-gzip the body before pub hashes and untars it (§8.3).
        if let Some(encoding) = response.headers.get(header::CONTENT_ENCODING) {
            return Err(ClientError::Nonconformant(format!(
                "archive {url} served with Content-Encoding: {encoding:?}"
            )));
        }
        check_goog_hash(&response.headers, &response.body)?;
        let sha256 = hex::encode(Sha256::digest(&response.body));
        if let Some(expected) = &version.archive_sha256
            && !expected.eq_ignore_ascii_case(&sha256)
        {
            return Err(ClientError::WrongContentHash {
                expected: expected.clone(),
                actual: sha256,
            });
        }
        Ok(Download {
            bytes: response.body,
            headers: response.headers,
            url: response.url,
            sha256,
        })
    }

    /// Lists `name`, downloads `version` and extracts it: what `dart pub get` does.
    pub fn fetch_package(&self, name: &str, version: &str) -> Result<Extracted, ClientError> {
        let listing = self.list(name)?;
        let listed = listing
            .version(version)
            .ok_or_else(|| ClientError::NotFound {
                url: format!("{} (version {version})", self.listing_url(name)),
            })?;
        extract(&self.download(listed)?)
    }

    /// `GET` a path relative to the hosted-url, with the client's headers but no `Accept`,
    /// following redirects. Any status is returned as a value.
    pub fn get(&self, relative: &str) -> Result<RawResponse, ClientError> {
        self.fetch(&self.url(relative), None, true)
    }

    /// `GET` a path relative to the hosted-url with `Accept: application/vnd.pub.v2+json`,
    /// following redirects. Any status is returned as a value.
    pub fn get_api(&self, relative: &str) -> Result<RawResponse, ClientError> {
        self.fetch(&self.url(relative), Some(PUB_ACCEPT), true)
    }

    /// [`PubClient::get_api`] and the body parsed as JSON (non-JSON is `BadlyFormatted`).
    pub fn get_json(
        &self,
        relative: &str,
    ) -> Result<(u16, HeaderMap, serde_json::Value), ClientError> {
        let response = self.get_api(relative)?;
        let json = parse_json(&String::from_utf8_lossy(&response.body))?;
        Ok((response.status, response.headers, json))
    }

    /// `GET` an absolute URL with the client's headers (token by the prefix rule).
    pub fn get_url(&self, url: &str, follow_redirects: bool) -> Result<RawResponse, ClientError> {
        self.fetch(url, None, follow_redirects)
    }

    /// A request with the headers the client puts on every request to `url` (§1.2): its
    /// `User-Agent`, `Accept-Encoding: gzip`, the token by the prefix rule, and `accept`
    /// if given. For endpoints the helpers here do not cover; send it with
    /// [`PubClient::send`].
    pub fn request(
        &self,
        method: Method,
        url: &str,
        accept: Option<&str>,
        follow_redirects: bool,
    ) -> RequestBuilder {
        let http = if follow_redirects {
            &self.http
        } else {
            &self.http_no_redirect
        };
        let mut request = http
            .request(method, url)
            .header(header::USER_AGENT, USER_AGENT)
            // Added by dart:io on every request; it also un-gzips the answer (§1.2).
            .header(header::ACCEPT_ENCODING, "gzip");
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        if let Some(token) = &self.token
            && token_applies(&self.hosted_url, url)
        {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request
    }

    /// Sends a request and reads the response as dart:io would (gzip decoded); any
    /// status is returned as a value.
    pub fn send(&self, request: RequestBuilder) -> Result<RawResponse, ClientError> {
        read_response(request.send()?)
    }

    fn fetch(
        &self,
        url: &str,
        accept: Option<&str>,
        follow_redirects: bool,
    ) -> Result<RawResponse, ClientError> {
        self.send(self.request(Method::GET, url, accept, follow_redirects))
    }
}

fn read_response(response: Response) -> Result<RawResponse, ClientError> {
    let status = response.status().as_u16();
    let url = response.url().to_string();
    let headers = response.headers().clone();
    let raw = response.bytes()?.to_vec();
    let body = match headers.get(header::CONTENT_ENCODING) {
        None => raw,
        Some(v) if v.as_bytes().eq_ignore_ascii_case(b"gzip") => {
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut decoded)
                .map_err(|e| {
                    ClientError::Nonconformant(format!("bad gzip body from {url}: {e}"))
                })?;
            decoded
        }
        // dart:io decodes gzip only; anything else reaches pub still encoded (§8.3).
        Some(v) if v.as_bytes().eq_ignore_ascii_case(b"identity") => raw,
        Some(v) => {
            return Err(ClientError::Nonconformant(format!(
                "{url} answered with Content-Encoding {v:?}, which dart:io does not decode"
            )));
        }
    };
    Ok(RawResponse {
        status,
        url,
        headers,
        body,
    })
}

/// The client's status mapping (§1.3): 2xx passes, the rest become errors.
pub(super) fn expect_success(response: RawResponse) -> Result<RawResponse, ClientError> {
    if (200..300).contains(&response.status) {
        Ok(response)
    } else {
        Err(status_error(response))
    }
}

/// The error the client makes of a non-2xx status: 404, 401/403, or anything else.
pub(super) fn status_error(response: RawResponse) -> ClientError {
    let status = response.status;
    let url = response.url.clone();
    match StatusCode::from_u16(status) {
        Ok(StatusCode::NOT_FOUND) => ClientError::NotFound { url },
        Ok(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => ClientError::Auth {
            status,
            url,
            www_authenticate: response
                .header(header::WWW_AUTHENTICATE.as_str())
                .map(str::to_owned),
        },
        _ => ClientError::Status {
            status,
            url,
            body: response.text(),
        },
    }
}

/// Decodes a JSON body with the `Content-Type` charset, as package:http does. A missing
/// charset makes the client fall back to Latin-1 (§1.3 "Charset trap"), so it is an error.
fn decode_json_text(response: &RawResponse) -> Result<String, ClientError> {
    let content_type = response
        .header(header::CONTENT_TYPE.as_str())
        .unwrap_or_default();
    let charset = content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
    });
    match charset.as_deref() {
        Some("utf-8" | "utf8") => {}
        _ => {
            return Err(ClientError::Nonconformant(format!(
                "Content-Type {content_type:?} lacks charset=utf-8; the client would decode Latin-1"
            )));
        }
    }
    let text = String::from_utf8(response.body.clone())
        .map_err(|e| ClientError::BadlyFormatted(format!("body is not UTF-8: {e}")))?;
    if text.starts_with('\u{feff}') {
        return Err(ClientError::BadlyFormatted(
            "body starts with a UTF-8 BOM".into(),
        ));
    }
    Ok(text)
}

pub(super) fn parse_json(text: &str) -> Result<serde_json::Value, ClientError> {
    serde_json::from_str(text)
        .map_err(|e| ClientError::BadlyFormatted(format!("invalid JSON: {e}")))
}
