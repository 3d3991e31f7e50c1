//! `dart pub publish` against the hosted-url (docs/protocol.md §5.2–§5.4): the three steps,
//! the exact multipart body package:http builds, and how the client reads each answer.
//! Not emulated: the client's retries of 5xx answers (§3.1).

use reqwest::Method;
use reqwest::header;
use serde_json::Value;

use super::client::{ClientError, PUB_ACCEPT, PubClient, RawResponse, parse_json, status_error};
use super::hosted_url::check_absolute_http;

/// What the client sends as multipart boundary: `dart-http-boundary-` and 51 characters
/// from `+_-.0-9A-Za-z` (random in the client, fixed here so bodies are reproducible).
pub const BOUNDARY: &str = "dart-http-boundary-+_-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijk";

/// The answer to `GET <hosted-url>/api/packages/versions/new`.
#[derive(Debug, Clone)]
pub struct UploadForm {
    pub url: String,
    /// In JSON key order, which is the order of the multipart parts.
    pub fields: Vec<(String, String)>,
}

impl PubClient {
    /// All three steps; returns the server's success message.
    pub fn publish(&self, archive: &[u8]) -> Result<String, ClientError> {
        let form = self.upload_form()?;
        let location = self.upload(&form, archive)?;
        self.finalize(&location)
    }

    /// Step 1: `GET <hosted-url>/api/packages/versions/new` (§5.2).
    pub fn upload_form(&self) -> Result<UploadForm, ClientError> {
        let url = self.url("api/packages/versions/new");
        let response = self.send(self.request(Method::GET, &url, Some(PUB_ACCEPT), true))?;
        let json = json_success(self.hosted_url(), response)?;
        let invalid = || ClientError::InvalidServerResponse(json.to_string());
        let form_url = json
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(invalid)?;
        check_absolute_http(form_url).map_err(ClientError::ClientCrash)?;
        let fields = json
            .get("fields")
            .and_then(Value::as_object)
            .ok_or_else(invalid)?
            .iter()
            .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(invalid)?;
        Ok(UploadForm {
            url: form_url.to_owned(),
            fields,
        })
    }

    /// Step 2: the multipart `POST`, redirects not followed (§5.3); returns `Location`.
    pub fn upload(&self, form: &UploadForm, archive: &[u8]) -> Result<String, ClientError> {
        let body = multipart_body(&form.fields, archive);
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        let request = self
            .request(Method::POST, &form.url, None, false)
            .header(header::CONTENT_TYPE, content_type)
            .body(body);
        let response = self.send(request)?;
        let status = response.status;
        let redirect = matches!(status, 301 | 302 | 303 | 307 | 308);
        if (200..300).contains(&status) || redirect {
            let location = response
                .header(header::LOCATION.as_str())
                .ok_or_else(|| ClientError::UploadFailed(format!("{status} without Location")))?;
            check_absolute_http(location).map_err(ClientError::ClientCrash)?;
            return Ok(location.to_owned());
        }
        if matches!(status, 401 | 403) {
            return Err(status_error(response));
        }
        // Only a GCS-style XML body is shown to the user at this step.
        let text = response.text();
        if text.contains("<?xml") {
            let element = |tag: &str| {
                let start = text.find(&format!("<{tag}>"))? + tag.len() + 2;
                let end = text[start..].find(&format!("</{tag}>"))? + start;
                Some(text[start..end].to_owned())
            };
            return Err(ClientError::UploadFailed(format!(
                "{status}: code {:?}, message {:?}",
                element("Code"),
                element("Message")
            )));
        }
        Err(ClientError::Status {
            status,
            url: response.url,
            body: text,
        })
    }

    /// Step 3: `GET <Location>` (§5.4); returns the `success.message`.
    pub fn finalize(&self, location: &str) -> Result<String, ClientError> {
        let response = self.send(self.request(Method::GET, location, Some(PUB_ACCEPT), true))?;
        let json = json_success(self.hosted_url(), response)?;
        json.pointer("/success/message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ClientError::InvalidServerResponse(json.to_string()))
    }
}

/// `handleJsonSuccess` / `handleJsonError`: a 2xx JSON object, or the `error.message` of a
/// 4xx from the hosted-url's own origin.
fn json_success(hosted_url: &str, response: RawResponse) -> Result<Value, ClientError> {
    let status = response.status;
    if matches!(status, 401 | 403) || status >= 500 {
        return Err(status_error(response));
    }
    let parsed = parse_json(&response.text())
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| ClientError::InvalidServerResponse(response.text()));
    if (200..300).contains(&status) {
        return parsed;
    }
    if !same_origin(hosted_url, &response.url) {
        return Err(ClientError::Status {
            status,
            url: response.url.clone(),
            body: response.text(),
        });
    }
    let message = parsed?
        .pointer("/error/message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ClientError::InvalidServerResponse(response.text()))?;
    Err(ClientError::ServerMessage { status, message })
}

fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// The body of package:http's `MultipartRequest`: text fields in order, then the file.
pub fn multipart_body(fields: &[(String, String)], archive: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut part = format!("content-disposition: form-data; name=\"{}\"", escape(name));
        if !value.is_ascii() {
            part.push_str("\r\ncontent-type: text/plain; charset=utf-8");
            part.push_str("\r\ncontent-transfer-encoding: binary");
        }
        body.extend_from_slice(format!("{part}\r\n\r\n{value}\r\n").as_bytes());
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\ncontent-type: application/octet-stream\r\n\
             content-disposition: form-data; name=\"file\"; filename=\"package.tar.gz\"\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(archive);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// package:http's `_browserEncode`: line breaks to `%0D%0A`, `"` to `%22`.
fn escape(name: &str) -> String {
    name.replace("\r\n", "%0D%0A")
        .replace(['\r', '\n'], "%0D%0A")
        .replace('"', "%22")
}
