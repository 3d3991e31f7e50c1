use super::*;

fn files() -> BTreeSet<String> {
    ["README.md", "doc/shot.png", "doc/guide.md", "my file.txt"]
        .into_iter()
        .map(String::from)
        .collect()
}

fn html(markdown: &str) -> String {
    let files = files();
    render(
        markdown,
        &Links {
            files: &files,
            dir: "",
            files_url: "/packages/foo/versions/1.0.0/files/",
            id_prefix: "readme-",
        },
    )
}

#[test]
fn scripts_handlers_javascript_urls_and_iframes_are_removed() {
    let out = html(concat!(
        "# Title\n\n<script>alert(1)</script>\n\n",
        "<img src=\"https://x.dev/a.png\" onerror=\"alert(2)\">\n\n",
        "[click](javascript:alert(3)) <a href=\"JaVaScRiPt:alert(4)\">b</a>\n\n",
        "<iframe src=\"https://evil.dev\"></iframe>\n\n",
        "<form action=\"/tokens\"><input type=\"text\" name=\"x\"></form>\n\n",
        "<p style=\"position:fixed\" onclick=\"x()\">styled</p>\n\n",
        "<svg><script>alert(5)</script></svg><object data=\"x\"></object>\n",
    ));
    for gone in [
        "<script",
        "alert(",
        "onerror",
        "javascript:",
        "JaVaScRiPt",
        "<iframe",
        "<form",
        "type=\"text\"",
        "onclick",
        "position:fixed",
        "<svg",
        "<object",
    ] {
        assert!(!out.contains(gone), "{gone} survived in {out}");
    }
    assert!(out.contains("https://x.dev/a.png"), "{out}");
    assert!(out.contains(">click</a>") || out.contains("click"), "{out}");
}

#[test]
fn github_extensions_render() {
    let out = html(concat!(
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n",
        "- [x] done\n- [ ] todo\n\n",
        "```dart\nvoid main() {}\n```\n\n",
        "~~old~~\n\n",
        "> [!NOTE]\n> careful\n",
    ));
    assert!(
        out.contains("<table>") && out.contains("<td>2</td>"),
        "{out}"
    );
    assert!(
        !out.contains("style="),
        "inline styles are refused by the CSP: {out}"
    );
    assert!(out.contains("type=\"checkbox\""), "{out}");
    assert!(out.contains("<pre><code"), "{out}");
    assert!(out.contains("void main() {}"), "{out}");
    assert!(out.contains("<del>old</del>"), "{out}");
    assert!(out.contains("markdown-alert-note"), "{out}");
}

#[test]
fn relative_links_point_into_the_archive_where_the_file_exists() {
    let out = html(concat!(
        "![shot](doc/shot.png) ![gone](doc/missing.png) [guide](./doc/guide.md#usage)\n",
        "[up](../secret) [root](/doc/shot.png) [space](my%20file.txt) [ext](//evil.dev/x)\n",
        "[query](doc/shot.png?raw=true) [section](#install)\n",
    ));
    let base = "/packages/foo/versions/1.0.0/files/";
    assert!(
        out.contains(&format!("src=\"{base}doc/shot.png\"")),
        "{out}"
    );
    assert!(
        out.contains(&format!("href=\"{base}doc/guide.md#usage\"")),
        "{out}"
    );
    assert!(
        out.contains(&format!("href=\"{base}doc/shot.png\"")),
        "{out}"
    );
    assert!(
        out.contains(&format!("href=\"{base}my%20file.txt\"")),
        "{out}"
    );
    assert!(
        !out.contains("missing.png"),
        "a missing file is not linked: {out}"
    );
    assert!(!out.contains("secret"), "{out}");
    assert!(!out.contains("evil.dev"), "{out}");
    assert!(out.contains("href=\"#readme-install\""), "{out}");
}

#[test]
fn headings_get_prefixed_github_style_ids() {
    let out = html("# Getting `started`!\n\n## Getting started\n\n<h3 id=\"x\">raw</h3>\n");
    assert!(out.contains("id=\"readme-getting-started\""), "{out}");
    assert!(out.contains("id=\"readme-getting-started-1\""), "{out}");
    assert!(out.contains("id=\"readme-x\""), "{out}");
}

#[test]
fn paths_resolve_within_the_archive_only() {
    assert_eq!(archive_path("doc", "a.png").as_deref(), Some("doc/a.png"));
    assert_eq!(archive_path("doc", "../a.png").as_deref(), Some("a.png"));
    assert_eq!(archive_path("doc", "/a.png").as_deref(), Some("a.png"));
    assert_eq!(archive_path("", "../a.png"), None);
    assert_eq!(archive_path("", "a%2F..%2F..%2Fb"), None);
}
