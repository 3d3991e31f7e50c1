use super::*;

/// `("path", "content")` is a file, `("path*", …)` an executable one,
/// `("path", "->target")` a symlink and `("path", "@")` a submodule.
fn tree(specs: &[(&str, &str)]) -> (Vec<TreeEntry>, Vec<Vec<u8>>) {
    specs
        .iter()
        .map(|&(path, content)| {
            let (path, executable) = match path.strip_suffix('*') {
                Some(path) => (path, true),
                None => (path, false),
            };
            let (kind, bytes) = match content {
                "@" => (EntryKind::Submodule, ""),
                _ => match content.strip_prefix("->") {
                    Some(target) => (EntryKind::Symlink, target),
                    None => (EntryKind::File { executable }, content),
                },
            };
            (
                TreeEntry {
                    path: path.into(),
                    kind,
                },
                bytes.as_bytes().to_vec(),
            )
        })
        .unzip()
}

fn select_in(specs: &[(&str, &str)], package_dir: &str) -> Result<Selection, Error> {
    let (entries, contents) = tree(specs);
    select(&entries, package_dir, &mut |i| Ok(contents[i].clone()))
}

fn names(specs: &[(&str, &str)], package_dir: &str) -> Vec<String> {
    let selection = select_in(specs, package_dir).expect("selects");
    selection
        .files
        .into_iter()
        .map(|f| f.archive_path)
        .collect()
}

const PUBSPEC: (&str, &str) = ("pubspec.yaml", "name: foo\n");

#[test]
fn builtin_rules_drop_dot_files_lockfiles_and_root_overrides() {
    let specs = [
        PUBSPEC,
        ("lib/a.dart", ""),
        (".github/workflows/ci.yaml", ""),
        (".dart_tool/package_config.json", ""),
        ("lib/.hidden", ""),
        ("web/.htaccess", ""),
        ("pubspec.lock", ""),
        ("example/pubspec.lock", ""),
        ("tool/pubspec.lock/kept.txt", ""),
        ("pubspec_overrides.yaml", ""),
        ("example/pubspec_overrides.yaml", ""),
        (".git/config", ""),
    ];
    let want = [
        "example/pubspec_overrides.yaml",
        "lib/a.dart",
        "pubspec.yaml",
        "tool/pubspec.lock/kept.txt",
        "web/.htaccess",
    ];
    assert_eq!(names(&specs, ""), want);
}

#[test]
fn gitignore_patterns_follow_git_semantics() {
    let gitignore = "# comment\n\nbuild/\n*.g.dart\n!keep.g.dart\n/top.txt\ndocs/**\n\
                     **/gen/*.dart\nbuild.txt/\n*.PDB\r\n*.log\r\n";
    let specs = [
        PUBSPEC,
        (".gitignore", gitignore),
        ("build/out.js", ""),
        ("lib/build/x.dart", ""),
        ("lib/a.g.dart", ""),
        ("lib/keep.g.dart", ""),
        ("top.txt", ""),
        ("lib/top.txt", ""),
        ("docs/a.md", ""),
        ("lib/gen/a.dart", ""),
        ("lib/gen/b.txt", ""),
        ("build.txt", ""),
        ("x.pdb", ""),
        ("x.log", ""),
    ];
    let want = [
        "build.txt",
        "lib/gen/b.txt",
        "lib/keep.g.dart",
        "lib/top.txt",
    ];
    assert_eq!(
        names(&specs, ""),
        [&want[..], &["pubspec.yaml", "x.pdb"]].concat()
    );
}

#[test]
fn file_in_an_excluded_directory_cannot_be_re_included() {
    let specs = [
        PUBSPEC,
        (".gitignore", "build/\n!build/keep.txt\n"),
        ("build/.gitignore", "!keep.txt\n"),
        ("build/keep.txt", ""),
    ];
    assert_eq!(names(&specs, ""), ["pubspec.yaml"]);
}

#[test]
fn deeper_ignore_files_override_shallower_ones() {
    let specs = [
        PUBSPEC,
        (".gitignore", "*.txt\n"),
        ("sub/.gitignore", "!notes.txt\n*.md\n"),
        ("notes.txt", ""),
        ("readme.md", ""),
        ("sub/notes.txt", ""),
        ("sub/other.txt", ""),
        ("sub/readme.md", ""),
    ];
    assert_eq!(
        names(&specs, ""),
        ["pubspec.yaml", "readme.md", "sub/notes.txt"]
    );
}

#[test]
fn pubignore_replaces_gitignore_of_the_same_directory() {
    let specs = [
        PUBSPEC,
        (".gitignore", "secret.txt\n"),
        (".pubignore", "*.log\n!.well-known/\n!.git/\n"),
        (".git/config", ""),
        ("lib/.gitignore", "a.dart\n"),
        ("lib/.pubignore", "b.dart\n"),
        ("secret.txt", ""),
        ("x.log", ""),
        ("lib/a.dart", ""),
        ("lib/b.dart", ""),
        (".well-known/assetlinks.json", ""),
    ];
    let want = [
        ".well-known/assetlinks.json",
        "lib/a.dart",
        "pubspec.yaml",
        "secret.txt",
    ];
    assert_eq!(names(&specs, ""), want);
}

#[test]
fn parent_directories_ignore_files_apply_in_a_monorepo() {
    let specs = [
        (".gitignore", "*.log\n"),
        ("packages/.pubignore", "secret/\n"),
        ("packages/.gitignore", "*.txt\n"),
        ("packages/foo/pubspec.yaml", ""),
        ("packages/foo/a.log", ""),
        ("packages/foo/a.txt", ""),
        ("packages/foo/secret/key", ""),
        ("packages/foobar/pubspec.yaml", ""),
        ("packages/bar/lib/bar.dart", ""),
        ("README.md", ""),
    ];
    assert_eq!(names(&specs, "packages/foo"), ["a.txt", "pubspec.yaml"]);
}

#[test]
fn package_excluded_by_a_parent_is_an_error() {
    for gitignores in [
        [
            (".gitignore", "packages/\n"),
            ("packages/.gitignore", "!foo/\n"),
        ],
        [(".gitignore", "foo/\n"), ("other", "")],
    ] {
        let mut specs = vec![("packages/foo/pubspec.yaml", "")];
        specs.extend(gitignores);
        let err = select_in(&specs, "packages/foo").expect_err("package is ignored");
        assert!(matches!(err, Error::PubspecIgnored { .. }), "{err}");
    }
}

#[test]
fn pubspec_must_exist_and_be_selected() {
    let missing = select_in(&[("lib/a.dart", "")], "");
    assert!(matches!(missing, Err(Error::MissingPubspec { .. })));
    let no_dir = select_in(&[PUBSPEC], "packages/foo");
    assert!(matches!(no_dir, Err(Error::MissingPubspec { .. })));
    let ignored = select_in(&[PUBSPEC, (".pubignore", "pubspec.yaml\n")], "");
    assert!(matches!(ignored, Err(Error::PubspecIgnored { .. })));
}

#[test]
fn file_symlinks_store_their_final_target() {
    let specs = [
        ("LICENSE", "MIT"),
        ("packages/foo/pubspec.yaml", ""),
        ("packages/foo/LICENSE", "->../../LICENSE"),
        ("packages/foo/lib/real.dart", ""),
        ("packages/foo/lib/link.dart", "->real.dart"),
        ("packages/foo/lib/chain.dart", "->./link.dart"),
        ("packages/foo/bin/run*", ""),
        ("packages/foo/run", "->bin/run"),
    ];
    let selection = select_in(&specs, "packages/foo").expect("selects");
    let got: Vec<_> = selection
        .files
        .iter()
        .map(|f| (f.archive_path.as_str(), specs[f.entry].0, f.executable))
        .collect();
    let want = [
        ("bin/run", "packages/foo/bin/run*", true),
        ("lib/chain.dart", "packages/foo/lib/real.dart", false),
        ("lib/link.dart", "packages/foo/lib/real.dart", false),
        ("lib/real.dart", "packages/foo/lib/real.dart", false),
        ("pubspec.yaml", "packages/foo/pubspec.yaml", false),
        ("run", "packages/foo/bin/run*", true),
    ];
    assert_eq!(got, want);
    assert_eq!(
        selection.warnings,
        ["LICENSE: left out: symlink to LICENSE leaves the package"]
    );
}

#[test]
fn directory_symlinks_are_expanded_with_their_ignore_files() {
    let specs = [
        ("packages/foo/common/x.dart", ""),
        ("packages/foo/common/y.tmp", ""),
        ("packages/foo/common/.gitignore", "*.tmp\n"),
        ("packages/foo/pubspec.yaml", ""),
        ("packages/foo/shared", "->common"),
        ("packages/foo/via.dart", "->shared/x.dart"),
        ("packages/foo/gen", "->shared/"),
        ("packages/foo/.gitignore", "gen/\n"),
        ("packages/other/z.dart", ""),
        ("packages/foo/outside", "->../other"),
    ];
    let selection = select_in(&specs, "packages/foo").expect("selects");
    let names: Vec<_> = selection
        .files
        .iter()
        .map(|f| f.archive_path.as_str())
        .collect();
    assert_eq!(
        names,
        ["common/x.dart", "pubspec.yaml", "shared/x.dart", "via.dart"]
    );
    assert_eq!(
        selection.warnings,
        ["outside: left out: symlink to directory packages/other/ leaves the package"]
    );
}

#[test]
fn symlink_cycles_are_left_out_with_a_warning() {
    let specs = [
        ("packages/foo/pubspec.yaml", ""),
        ("packages/foo/lib/self", "->."),
        ("packages/foo/lib/up", "->../.."),
        ("packages/foo/lib/root", "->../../.."),
        ("packages/foo/a/b", "->../c"),
        ("packages/foo/c/d", "->../a"),
    ];
    let selection = select_in(&specs, "packages/foo").expect("selects");
    assert_eq!(selection.files.len(), 1);
    let cycles = ["a/b/d", "c/d/b", "lib/root", "lib/self", "lib/up"];
    let cycles = cycles.map(|c| match c {
        "lib/root" | "lib/up" => format!("{c}: left out: symlink to directory"),
        _ => format!("{c}: left out: symlink cycle"),
    });
    assert_eq!(
        selection.warnings.len(),
        cycles.len(),
        "{:?}",
        selection.warnings
    );
    for (warning, path) in selection.warnings.iter().zip(cycles) {
        assert!(warning.starts_with(&path), "{warning}");
    }
}

#[test]
fn unusable_links_and_submodules_are_left_out_with_a_warning() {
    let specs = [
        PUBSPEC,
        ("dangling", "->nope"),
        ("absolute", "->/etc/passwd"),
        ("escaping", "->../outside"),
        ("loop", "->loop"),
        ("through_file", "->pubspec.yaml/x"),
        ("trailing_slash", "->pubspec.yaml/"),
        ("third_party/sub", "@"),
        ("ignored.lnk", "->nope"),
        ("ignored_sub", "@"),
        (".gitignore", "*.lnk\nignored_sub/\n"),
    ];
    let selection = select_in(&specs, "").expect("selects");
    assert_eq!(selection.files.len(), 1);
    let left_out: Vec<_> = selection
        .warnings
        .iter()
        .map(|w| w.split(':').next().unwrap_or_default())
        .collect();
    let want = [
        "absolute",
        "dangling",
        "escaping",
        "loop",
        "third_party/sub",
        "through_file",
        "trailing_slash",
    ];
    assert_eq!(left_out, want, "{:?}", selection.warnings);
}

#[test]
fn errors_name_what_failed() {
    let (entries, _) = tree(&[PUBSPEC, (".gitignore", "")]);
    let err = select(&entries, "", &mut |_| Err("object missing".into())).expect_err("fails");
    assert!(
        matches!(&err, Error::Read { path, .. } if path == ".gitignore"),
        "{err}"
    );

    let invalid = select_in(&[PUBSPEC, ("lib//a.dart", "")], "");
    assert!(matches!(invalid, Err(Error::InvalidPath { .. })));
    let elsewhere = select_in(&[("p/pubspec.yaml", ""), ("other/../x", "")], "p");
    assert!(
        elsewhere.is_ok(),
        "malformed paths outside the package do not matter"
    );
    let bad_dir = select_in(&[PUBSPEC], "../p");
    assert!(matches!(bad_dir, Err(Error::InvalidPath { .. })));

    let (entries, _) = tree(&[PUBSPEC, (".gitignore", "")]);
    let err = select(&entries, "", &mut |i| {
        Ok(if i == 1 { vec![0xff] } else { vec![] })
    });
    assert!(matches!(err, Err(Error::IgnoreFileEncoding { path, .. }) if path == ".gitignore"));
}

#[test]
fn an_invalid_pattern_is_skipped_with_a_warning_like_pub() {
    let specs = [
        PUBSPEC,
        (".gitignore", "[abc\n*.log\n"),
        ("x.log", ""),
        ("[abc", ""),
    ];
    let selection = select_in(&specs, "").expect("selects");
    let names: Vec<_> = selection
        .files
        .iter()
        .map(|f| f.archive_path.as_str())
        .collect();
    assert_eq!(names, ["[abc", "pubspec.yaml"]);
    assert_eq!(selection.warnings.len(), 1);
    assert!(
        selection.warnings[0].starts_with(".gitignore:1: "),
        "{:?}",
        selection.warnings
    );
}

#[test]
fn files_are_sorted_by_archive_path_bytes() {
    let specs = [PUBSPEC, ("a/b", ""), ("a-b", ""), ("B", "")];
    assert_eq!(names(&specs, ""), ["B", "a-b", "a/b", "pubspec.yaml"]);
}

#[test]
fn exponential_directory_links_hit_the_visit_limit() {
    let mut specs = vec![PUBSPEC];
    let links: Vec<_> = (0..13).map(|i| format!("->../d{}", i + 1)).collect();
    let paths: Vec<_> = (0..13)
        .flat_map(|i| [format!("d{i}/a"), format!("d{i}/b")])
        .collect();
    for (i, path) in paths.iter().enumerate() {
        specs.push((path, &links[i / 2]));
    }
    specs.push(("d13/leaf", ""));
    let err = select_in(&specs, "").expect_err("too many");
    assert!(matches!(err, Error::TooManyEntries { .. }), "{err}");
}
