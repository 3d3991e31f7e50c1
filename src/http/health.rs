//! `GET healthz`: the process is up and serving.

use crate::app::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::Arc;

pub async fn healthz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let packages = state.index.load().len();
    (
        [(header::CONTENT_TYPE, super::JSON)],
        serde_json::json!({"status": "ok", "packages": packages}).to_string(),
    )
}
