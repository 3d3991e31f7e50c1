//! Static files of the web UI, embedded in the binary: no build step, nothing to
//! deploy beside the executable.

/// A stylesheet and a script: the only files pages load from the registry.
const FILES: [(&str, &str, &str); 3] = [
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    ("icon.svg", "image/svg+xml", include_str!("assets/icon.svg")),
];

/// The content type and bytes of asset `name`.
pub fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, ty, body)| (*ty, *body))
}

/// A short fingerprint of every asset, put in their URLs so that browsers may cache
/// them for long and still see a new version at once.
pub fn fingerprint() -> &'static str {
    static FINGERPRINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FINGERPRINT.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for (_, _, body) in FILES {
            h.update(body.as_bytes());
        }
        hex::encode(&h.finalize()[..6])
    })
}
