//! Reading pages: the package list, a package's page, a version's page, the files of
//! an archive that READMEs link to, and the embedded assets.

use super::super::archives;
use super::super::auth::Auth;
use super::visitor::Seen;
use super::{blocking, error_page, page, visitor_of, wants_html};
use crate::app::AppState;
use crate::web::{Web, assets, browse, docs, package};
use axum::extract::{FromRequestParts, Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, http::HeaderMap};
use std::sync::Arc;

/// The largest file of an archive served to a browser.
const MAX_FILE: u64 = 10 << 20;

/// `GET /`: the package list for browsers; for anyone else what it always was.
pub async fn index(
    State(state): State<Arc<AppState>>,
    Extension(web): Extension<Arc<Web>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    seen: Seen,
    RawQuery(query): RawQuery,
) -> Response {
    if !wants_html(&headers) {
        return super::super::not_found(uri).await.into_response();
    }
    let mut q = String::new();
    let mut page_number = 1;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "q" => q = value.into_owned(),
            "page" => page_number = value.parse().unwrap_or(1),
            _ => {}
        }
    }
    let visitor = visitor_of(&seen);
    let s = state.clone();
    match blocking(move || browse::index_page(&s, &web, &visitor, q.trim(), page_number)).await {
        Ok(p) => page(&state, &seen, StatusCode::OK, &p),
        Err(e) => error_page(&state, &seen, e),
    }
}

/// `GET packages/{name}`: a package's page for browsers.
pub async fn package(
    State(state): State<Arc<AppState>>,
    Extension(web): Extension<Arc<Web>>,
    Path(name): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    seen: Seen,
) -> Response {
    if !wants_html(&headers) {
        return super::super::not_found(uri).await.into_response();
    }
    package_page(state, web, seen, name, None).await
}

async fn package_page(
    state: Arc<AppState>,
    web: Arc<Web>,
    seen: Seen,
    name: String,
    version: Option<String>,
) -> Response {
    let visitor = visitor_of(&seen);
    let s = state.clone();
    let built =
        blocking(move || package::package_page(&s, &web, &visitor, &name, version.as_deref()))
            .await;
    match built {
        Ok(p) => page(&state, &seen, StatusCode::OK, &p),
        Err(e) => error_page(&state, &seen, e),
    }
}

/// `GET packages/{name}/versions/{file}`: the archive when `file` ends in `.tar.gz`
/// (whatever the client accepts: a browser downloads it too), a version's page for a
/// browser asking for `VERSION`, and otherwise the API's answer as before.
pub async fn version_or_archive(
    State(state): State<Arc<AppState>>,
    Extension(web): Extension<Arc<Web>>,
    Path((name, file)): Path<(String, String)>,
    request: Request,
) -> Response {
    let (mut parts, _) = request.into_parts();
    if !file.ends_with(".tar.gz") && wants_html(&parts.headers) {
        let Ok(seen) = Seen::from_request_parts(&mut parts, &state).await;
        return package_page(state, web, seen, name, Some(file)).await;
    }
    let auth = match Auth::from_request_parts(&mut parts, &state).await {
        Ok(auth) => auth,
        Err(e) => return e.into_response(),
    };
    archives::download(State(state), Path((name, file)), auth)
        .await
        .into_response()
}

/// `GET packages/{name}/versions/{version}/files/{path}`: a file of the archive, for
/// the links and images of its README; the same access check as the archive.
pub async fn archive_file(
    State(state): State<Arc<AppState>>,
    Path((name, version, path)): Path<(String, String, String)>,
    seen: Seen,
) -> Response {
    let visitor = visitor_of(&seen);
    let s = state.clone();
    let path_for_read = path.clone();
    let read = blocking(move || {
        docs::archive_file(&s, &visitor, &name, &version, &path_for_read, MAX_FILE)
    })
    .await;
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(e) => return error_page(&state, &seen, e),
    };
    let (content_type, inline) = docs::content_type(&path);
    let file_name = path.rsplit('/').next().unwrap_or("file").replace('"', "");
    let disposition = if inline { "inline" } else { "attachment" };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    // A package's file is never a page of the registry: no script runs, nothing loads,
    // and its origin is opaque (sandbox), so it reaches no cookie or page of ours.
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "private, max-age=3600"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// `GET static/{file}`: the embedded stylesheet, script and icon.
pub async fn asset(Path(file): Path<String>) -> Response {
    let Some((content_type, body)) = assets::asset(&file) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
