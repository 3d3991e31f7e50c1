use super::*;
use crate::package::archive::{ArchiveFile, build};

fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
    let files = files
        .iter()
        .map(|(path, content)| ArchiveFile {
            path: path.to_string(),
            executable: false,
            content: content.to_vec(),
        })
        .collect();
    build(files, 0).unwrap()
}

#[test]
fn readme_changelog_pubspec_and_files_come_out_of_the_archive() {
    let bytes = archive(&[
        ("pubspec.yaml", b"name: foo\nversion: 1.0.0\n"),
        ("README.md", b"# Foo\n\n![logo](doc/logo.png)\n"),
        ("CHANGELOG.md", b"## 1.0.0\n\n- first\n"),
        ("doc/logo.png", b"\x89PNG"),
        ("lib/foo.dart", b"void foo() {}"),
    ]);
    let docs = extract(&bytes, "/packages/foo/versions/1.0.0/files/").unwrap();
    let readme = docs.readme.unwrap();
    assert_eq!(readme.path, "README.md");
    assert!(readme.html.contains("id=\"readme-foo\""), "{}", readme.html);
    assert!(
        readme
            .html
            .contains("src=\"/packages/foo/versions/1.0.0/files/doc/logo.png\""),
        "{}",
        readme.html
    );
    let changelog = docs.changelog.unwrap();
    assert!(
        changelog.html.contains("id=\"changelog-100\""),
        "{}",
        changelog.html
    );
    assert_eq!(docs.pubspec, "name: foo\nversion: 1.0.0\n");
    assert!(docs.files.contains("lib/foo.dart"));
    assert_eq!(
        read_file(&bytes, "doc/logo.png", 100).unwrap(),
        File::Found(b"\x89PNG".to_vec())
    );
    assert_eq!(
        read_file(&bytes, "doc/logo.png", 2).unwrap(),
        File::TooLarge
    );
    assert_eq!(
        read_file(&bytes, "doc/none.png", 100).unwrap(),
        File::Missing
    );
}

#[test]
fn a_plain_text_readme_is_escaped_and_markdown_wins() {
    let bytes = archive(&[("README", b"<b>x</b>"), ("pubspec.yaml", b"name: a\n")]);
    let docs = extract(&bytes, "/f/").unwrap();
    let html = docs.readme.unwrap().html;
    assert!(html.starts_with("<pre>&lt;b&gt;x&lt;"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    let bytes = archive(&[
        ("README", b"plain"),
        ("readme.md", b"*md*"),
        ("pubspec.yaml", b"name: a\n"),
    ]);
    let docs = extract(&bytes, "/f/").unwrap();
    assert_eq!(docs.readme.unwrap().path, "readme.md");
}

#[test]
fn no_file_of_a_package_is_served_as_a_page() {
    for path in ["a.html", "a.htm", "x.js", "b.svg", "README", "a.dart"] {
        let (ty, _) = content_type(path);
        assert!(
            !ty.contains("html") && !ty.contains("javascript"),
            "{path}: {ty}"
        );
    }
    assert_eq!(content_type("a.bin"), ("application/octet-stream", false));
}

#[test]
fn the_cache_keeps_what_was_put() {
    let cache = DocsCache::default();
    assert!(cache.get("k").is_none());
    let kept = cache.put("k", Docs::default());
    assert!(Arc::ptr_eq(&kept, &cache.get("k").unwrap()));
}

#[test]
fn a_broken_archive_is_an_error() {
    assert!(extract(b"not gzip", "/f/").is_err());
}
