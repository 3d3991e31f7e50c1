//! The pages that show no package: signing in, and errors.

use super::Layout;
use askama::Template;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    /// The value of the form's CSRF field, also set as the sign-in cookie.
    pub form_token: String,
    /// Where to go after signing in (a path under `base_url`).
    pub next: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub heading: &'static str,
    pub message: String,
    /// Offer a sign-in link (the visitor is anonymous and signing in may help).
    pub sign_in: bool,
}
