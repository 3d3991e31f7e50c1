//! A browser's side of tagpub's web UI over plain HTTP: pages asked for the way a browser
//! navigates (`Accept: text/html…`), cookies kept as a browser keeps them (per name,
//! removed by `Max-Age=0`), forms posted with the `Origin` a browser sends.
//!
//! Blocking, like the pub client emulation: call it from a plain `#[test]`.

use reqwest::blocking::Client;
use reqwest::header::{self, HeaderMap};
use reqwest::redirect::Policy;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// What Chromium sends when it navigates to a page.
pub const BROWSER_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

/// One answer.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as sent.
    pub html: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    /// The body with tags removed and entities decoded: the text a person reads.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in self.html.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => {
                    in_tag = false;
                    out.push(' ');
                }
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        unescape(&out)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The text inside the element with id `id` (which holds no other element).
    pub fn element_text(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\"");
        let start = self.html.find(&marker)?;
        let open_end = self.html[start..].find('>')? + start + 1;
        let close = self.html[open_end..].find('<')? + open_end;
        Some(unescape(&self.html[open_end..close]).trim().to_string())
    }

    /// The value of the first hidden field `name` of the page's forms.
    pub fn field(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.html.find(&marker)? + marker.len();
        let end = self.html[start..].find('"')? + start;
        Some(unescape(&self.html[start..end]))
    }
}

/// Decodes the entities askama and ammonia write.
pub fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#47;", "/")
        .replace("&amp;", "&")
}

/// A browser pointed at a registry: its cookies, and the origin it sends with forms.
pub struct Browser {
    base_url: String,
    http: Client,
    cookies: RefCell<BTreeMap<String, String>>,
}

impl Browser {
    /// `base_url` ends with `/`.
    pub fn new(base_url: &str) -> Browser {
        Browser {
            base_url: base_url.to_string(),
            http: Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("an HTTP client"),
            cookies: RefCell::new(BTreeMap::new()),
        }
    }

    /// `http://127.0.0.1:PORT`: what the browser sends as `Origin`.
    pub fn origin(&self) -> String {
        let url = reqwest::Url::parse(&self.base_url).expect("base URL");
        url.origin().ascii_serialization()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path.trim_start_matches('/'))
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.borrow().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .borrow_mut()
            .insert(name.to_string(), value.to_string());
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .borrow()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&self, headers: &HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let mut attributes = value.split(';').map(str::trim);
            let Some((name, v)) = attributes.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let gone = attributes.any(|a| a.eq_ignore_ascii_case("Max-Age=0"));
            let mut cookies = self.cookies.borrow_mut();
            if gone {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_string(), v.to_string());
            }
        }
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> Page {
        let cookies = self.cookie_header();
        let request = if cookies.is_empty() {
            request
        } else {
            request.header(header::COOKIE, cookies)
        };
        let response = request.send().expect("the registry answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.keep_cookies(&headers);
        Page {
            status,
            headers,
            html: response.text().expect("a text body"),
        }
    }

    /// Navigates to `path` (relative to the base URL).
    pub fn get(&self, path: &str) -> Page {
        self.send(
            self.http
                .get(self.url(path))
                .header(header::ACCEPT, BROWSER_ACCEPT),
        )
    }

    /// Posts a form to `path` from a page of `origin` (`None`: no `Origin` header).
    pub fn post_from(&self, origin: Option<&str>, path: &str, form: &[(&str, &str)]) -> Page {
        let mut request = self
            .http
            .post(self.url(path))
            .header(header::ACCEPT, BROWSER_ACCEPT)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(
                form.iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                    .collect::<Vec<_>>()
                    .join("&"),
            );
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        self.send(request)
    }

    /// Posts a form to `path` from one of the registry's pages.
    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_from(Some(&self.origin()), path, form)
    }

    /// Signs in with `token` through the sign-in form; returns the answer to the post.
    pub fn sign_in(&self, token: &str) -> Page {
        let form = self.get("login");
        assert_eq!(form.status, 200, "the sign-in page: {}", form.html);
        let csrf = form
            .field("csrf")
            .expect("the sign-in form has a CSRF field");
        self.post("login", &[("csrf", &csrf), ("token", token), ("next", "")])
    }
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
