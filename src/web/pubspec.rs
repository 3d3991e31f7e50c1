//! What a version's pubspec says that pages show: its web links, dependencies and
//! SDK constraints.

use crate::config::Config;
use serde_json::Value;

/// One dependency of the version shown.
#[derive(Debug, Clone)]
pub struct Dependency {
    pub name: String,
    pub constraint: String,
    /// Where it comes from, for people (`this registry`, `pub.dev`, `Flutter SDK`).
    pub origin: String,
    pub link: Option<String>,
}

/// Links of the pubspec (`homepage`, `repository`, …) that are web links.
pub fn links(pubspec: &Value) -> Vec<(&'static str, String)> {
    [
        ("Homepage", "homepage"),
        ("Repository", "repository"),
        ("Issues", "issue_tracker"),
        ("Documentation", "documentation"),
    ]
    .into_iter()
    .filter_map(|(label, key)| {
        let url = super::web_link(pubspec.get(key)?.as_str()?)?;
        Some((label, url))
    })
    .collect()
}

/// A version constraint as written (`^1.2.0`), `any` when absent.
pub fn constraint(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "any".to_string(),
        Value::Object(o) => o.get("version").map_or("any".to_string(), constraint),
        other => other.to_string(),
    }
}

fn same_registry(config: &Config, url: &str) -> bool {
    url.trim_end_matches('/')
        .eq_ignore_ascii_case(config.base_url.as_str().trim_end_matches('/'))
}

pub fn dependencies(config: &Config, section: Option<&Value>) -> Vec<Dependency> {
    let Some(Value::Object(deps)) = section else {
        return Vec::new();
    };
    let base = config.base_url.path();
    deps.iter()
        .map(|(name, spec)| {
            let hosted = spec.get("hosted").and_then(|h| match h {
                Value::String(url) => Some(url.clone()),
                Value::Object(o) => o.get("url")?.as_str().map(str::to_string),
                _ => None,
            });
            let (origin, link) = if let Some(sdk) = spec.get("sdk").and_then(Value::as_str) {
                (format!("{sdk} SDK"), None)
            } else if spec.get("git").is_some() {
                ("git".to_string(), None)
            } else if spec.get("path").is_some() {
                ("path".to_string(), None)
            } else if let Some(url) = hosted {
                if same_registry(config, &url) {
                    let link = format!("{base}packages/{name}");
                    ("this registry".to_string(), Some(link))
                } else {
                    (crate::config::redact(&url), None)
                }
            } else {
                let link = format!("https://pub.dev/packages/{name}");
                ("pub.dev".to_string(), Some(link))
            };
            Dependency {
                name: name.clone(),
                constraint: constraint(spec),
                origin,
                link,
            }
        })
        .collect()
}
