//! Markdown of READMEs and CHANGELOGs to safe HTML: CommonMark with GitHub's extensions
//! (pulldown-cmark), then sanitized (ammonia) so that nothing a package author writes
//! runs in a reader's browser: no scripts, event handlers, `javascript:` URLs, iframes,
//! forms or inline styles (which the pages' Content-Security-Policy would refuse anyway).
//!
//! Relative links and images point into the package's archive: a target that is a file
//! of the archive becomes the URL that serves it; any other relative target is dropped
//! (the text stays), since it would resolve against the page's URL to nothing.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

/// Where the links of one rendered document point.
pub struct Links<'a> {
    /// Paths of the files in the archive (`doc/shot.png`).
    pub files: &'a BTreeSet<String>,
    /// The directory of the document in the archive, `""` for the root.
    pub dir: &'a str,
    /// The URL path under which the archive's files are served, ending in `/`.
    pub files_url: &'a str,
    /// Put before every id in the document (`readme-`), so that its headings clash
    /// with none of the page's own ids, nor with another document on the same page.
    pub id_prefix: &'a str,
}

/// Characters escaped in a path segment of a URL.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'\\');

/// `path` (`doc/a b.png`) as a URL path, each segment percent-encoded.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Renders `markdown` to sanitized HTML.
pub fn render(markdown: &str, links: &Links<'_>) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_GFM;
    let events = with_heading_ids(Parser::new_ext(markdown, options).collect());
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    sanitizer(links).clean(&html).to_string()
}

/// The sanitizer: ammonia's defaults (which allow no script, no event handler, no
/// `javascript:` and no iframe), plus the few things rendered markdown needs.
fn sanitizer<'a>(links: &'a Links<'a>) -> ammonia::Builder<'a> {
    let mut b = ammonia::Builder::default();
    b.add_tags(["input"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_generic_attributes(["id"])
        .id_prefix(Some(links.id_prefix))
        .add_allowed_classes(
            "blockquote",
            [
                "markdown-alert-note",
                "markdown-alert-tip",
                "markdown-alert-important",
                "markdown-alert-warning",
                "markdown-alert-caution",
            ],
        )
        // Only task-list check boxes: shown, never editable, never part of a form.
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("input", "type") => (value == "checkbox").then_some(Cow::Borrowed(value)),
            ("input", "disabled") => Some(Cow::Borrowed("")),
            _ => Some(Cow::Borrowed(value)),
        })
        .url_relative(ammonia::UrlRelative::Custom(Box::new(Resolver(links))));
    b
}

struct Resolver<'a>(&'a Links<'a>);

impl<'a> ammonia::UrlRelativeEvaluate<'a> for Resolver<'a> {
    fn evaluate<'url>(&self, url: &'url str) -> Option<Cow<'url, str>> {
        resolve(url, self.0).map(Cow::Owned)
    }
}

/// Where a relative `url` of the document points, or `None` to drop it.
fn resolve(url: &str, links: &Links<'_>) -> Option<String> {
    // `//host/x` is relative only in name: it leaves for another host.
    if url.starts_with("//") {
        return None;
    }
    let (rest, fragment) = match url.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (url, None),
    };
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() {
        return fragment.map(|f| format!("#{}{f}", links.id_prefix));
    }
    let file = archive_path(links.dir, path)?;
    if !links.files.contains(&file) {
        return None;
    }
    let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
    Some(format!(
        "{}{}{fragment}",
        links.files_url,
        encode_path(&file)
    ))
}

/// The archive path that `target` (relative to `dir`, or to the root when it starts
/// with `/`, as on GitHub) names; `None` when it climbs out of the archive.
fn archive_path(dir: &str, target: &str) -> Option<String> {
    let decoded = percent_decode_str(target).decode_utf8().ok()?;
    let (start, target) = match decoded.strip_prefix('/') {
        Some(from_root) => ("", from_root.to_string()),
        None => (dir, decoded.into_owned()),
    };
    let mut parts: Vec<&str> = start.split('/').filter(|s| !s.is_empty()).collect();
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// Gives every heading without an id one, as GitHub does: its text in lower case, with
/// punctuation removed and spaces as `-`, numbered when repeated.
fn with_heading_ids(mut events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { id: None, .. }) = &events[i] {
            let mut text = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j], Event::End(TagEnd::Heading(_))) {
                if let Event::Text(t) | Event::Code(t) = &events[j] {
                    text.push_str(t);
                }
                j += 1;
            }
            let slug = slug(&text);
            let n = seen.entry(slug.clone()).or_insert(0);
            let unique = if *n == 0 { slug } else { format!("{slug}-{n}") };
            *n += 1;
            if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
                *id = Some(unique.into());
            }
            i = j;
        }
        i += 1;
    }
    events
}

fn slug(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
