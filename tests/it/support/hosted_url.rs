//! Hosted-url handling as the client does it (docs/protocol.md §1.1, §1.4, §2.3):
//! normalisation, resolving API paths, `Uri.encodeComponent`, the token prefix rule.

use url::Url;

/// A URL dart:io can open: absolute, `http` or `https`, with a host (§1.4).
pub fn check_absolute_http(url: &str) -> Result<(), String> {
    match Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        Ok(u) => Err(format!("{url:?} has scheme {:?} or no host", u.scheme())),
        Err(e) => Err(format!("{url:?} is not an absolute URL ({e})")),
    }
}

/// `validateAndNormalizeHostedUrl` (§1.1): `https://host/` -> `https://host`,
/// `https://host/prefix` -> `https://host/prefix/`.
pub fn normalize_hosted_url(input: &str) -> Result<String, String> {
    let url = Url::parse(input).map_err(|e| format!("cannot parse url: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("url scheme must be https:// or http://".into());
    }
    let host = match url.host_str() {
        Some(host) if !host.is_empty() => host,
        _ => return Err("url must have a hostname".into()),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err("user-info is not supported in url".into());
    }
    if url.query().is_some() {
        return Err("querystring is not supported in url".into());
    }
    if url.fragment().is_some() {
        return Err("fragment is not supported in url".into());
    }
    if url.scheme() == "https" && host == "pub.dartlang.org" {
        return Ok("https://pub.dev".into());
    }
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = match url.path() {
        "/" | "" => String::new(),
        p if p.ends_with('/') => p.to_owned(),
        p => format!("{p}/"),
    };
    Ok(format!("{}://{host}{port}{path}", url.scheme()))
}

/// Dart's `Uri.encodeComponent`: everything but `A-Za-z0-9-_.!~*'()` is percent-encoded.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Resolves `relative` against a normalised hosted-url, as the client builds API URLs.
pub fn resolve(hosted_url: &str, relative: &str) -> String {
    let base = if hosted_url.ends_with('/') {
        hosted_url.to_owned()
    } else {
        format!("{hosted_url}/")
    };
    Url::parse(&base)
        .and_then(|b| b.join(relative))
        .unwrap_or_else(|e| panic!("cannot resolve {relative:?} against {base}: {e}"))
        .into()
}

/// Whether a token for `hosted_url` goes along with a request to `url`: a
/// case-insensitive string prefix match against the hosted-url plus `/` (§2.3).
pub fn token_applies(hosted_url: &str, url: &str) -> bool {
    let Ok(url) = Url::parse(url) else {
        return false;
    };
    let mut prefix = hosted_url.to_ascii_lowercase();
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    url.as_str().to_ascii_lowercase().starts_with(&prefix)
}
