//! What goes into an archive: pub's publish rules applied to the tagged tree.

use crate::support;

use support::GitRepo;
use support::server::start;

fn paths_of(config: &str, package: &str, version: &str) -> (Vec<String>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "", config);
    let reports = server.sync();
    let files = server
        .client()
        .fetch_package(package, version)
        .unwrap_or_else(|e| panic!("{package} {version}: {e}; report: {reports:?}"));
    (files.paths(), reports[0].warnings.clone())
}

#[test]
fn ignore_rules_match_dart_pub_publish() {
    let repo = GitRepo::init();
    repo.write(".gitignore", "build/\n*.log\n");
    repo.write("pkg/pubspec.yaml", support::pubspec("ignored", "1.0.0"));
    repo.write("pkg/lib/ignored.dart", "");
    repo.write("pkg/lib/generated.g.dart", "");
    repo.write("pkg/lib/debug.log", "");
    repo.write("pkg/build/out.js", "");
    repo.write("pkg/.dart_tool/x", "");
    repo.write("pkg/.env", "SECRET=1");
    repo.write("pkg/.htaccess", "");
    repo.write("pkg/pubspec.lock", "");
    repo.write("pkg/pubspec_overrides.yaml", "");
    repo.write("pkg/example/pubspec_overrides.yaml", "");
    repo.write("pkg/example/pubspec.lock", "");
    // .gitignore of pkg/ is replaced by its .pubignore: *.g.dart stays out only via
    // the .gitignore, so it comes back in.
    repo.write("pkg/.gitignore", "*.g.dart\nsecret.txt\n");
    repo.write("pkg/.pubignore", "secret.txt\n");
    repo.write("pkg/secret.txt", "");
    // Nested ignore files: deeper rules override shallower ones.
    repo.write("pkg/doc/.gitignore", "*.md\n!keep.md\n");
    repo.write("pkg/doc/drop.md", "");
    repo.write("pkg/doc/keep.md", "");
    // Committed despite the ignore files (git would skip them): the publish rules, not
    // git's, decide what is in the archive.
    repo.run(["add", "--force", "."]);
    repo.commit("release");
    repo.tag("v1.0.0");
    let (paths, _) = paths_of(
        &format!(
            "repositories:\n  - url: {}\n    packages: [{{path: pkg}}]\n",
            repo.path().display()
        ),
        "ignored",
        "1.0.0",
    );
    assert_eq!(
        paths,
        [
            ".htaccess",
            "doc/",
            "doc/keep.md",
            "example/",
            "example/pubspec_overrides.yaml",
            "lib/",
            "lib/generated.g.dart",
            "lib/ignored.dart",
            "pubspec.yaml",
        ]
    );
}

#[test]
fn symlinks_inside_are_copied_and_outside_are_left_out_with_a_warning() {
    let repo = GitRepo::init();
    repo.write("LICENSE", "shared license\n");
    repo.write("pkg/pubspec.yaml", support::pubspec("linked", "1.0.0"));
    repo.write("pkg/lib/real.dart", "// real\n");
    repo.symlink("pkg/lib/alias.dart", "real.dart");
    repo.symlink("pkg/LICENSE", "../LICENSE");
    repo.write_exec("pkg/tool/run.sh", "#!/bin/sh\n");
    repo.commit("release");
    repo.tag("v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "",
        &format!(
            "repositories:\n  - url: {}\n    packages: [{{path: pkg}}]\n",
            repo.path().display()
        ),
    );
    let report = server.sync().remove(0);
    let files = server.client().fetch_package("linked", "1.0.0").unwrap();
    assert_eq!(
        files.paths(),
        [
            "lib/",
            "lib/alias.dart",
            "lib/real.dart",
            "pubspec.yaml",
            "tool/",
            "tool/run.sh"
        ]
    );
    assert_eq!(files.text("lib/alias.dart"), Some("// real\n"));
    assert!(files.is_executable("tool/run.sh"));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("LICENSE") && w.contains("leaves the package")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn submodules_are_left_out_with_a_warning() {
    let other = GitRepo::init();
    other.write("README.md", "other\n");
    other.commit("other");
    let repo = GitRepo::init();
    repo.write("pubspec.yaml", support::pubspec("with_sub", "1.0.0"));
    repo.add_submodule(&other, "third_party/other");
    repo.commit("release");
    repo.tag("v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "",
        &format!("repositories:\n  - url: {}\n", repo.path().display()),
    );
    let report = server.sync().remove(0);
    let files = server.client().fetch_package("with_sub", "1.0.0").unwrap();
    assert_eq!(files.paths(), ["pubspec.yaml"]);
    assert!(
        report.warnings.iter().any(|w| w.contains("submodule")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn file_names_that_are_not_utf8_are_left_out_with_a_warning() {
    use std::os::unix::ffi::OsStrExt;
    let repo = GitRepo::init();
    repo.write("pubspec.yaml", support::pubspec("latin1", "1.0.0"));
    let name = std::ffi::OsStr::from_bytes(b"lib/caf\xe9.txt");
    std::fs::create_dir_all(repo.path().join("lib")).unwrap();
    std::fs::write(repo.path().join(name), "bytes").unwrap();
    repo.commit("release");
    repo.tag("v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "",
        &format!("repositories:\n  - url: {}\n", repo.path().display()),
    );
    let report = server.sync().remove(0);
    let files = server.client().fetch_package("latin1", "1.0.0").unwrap();
    assert_eq!(files.paths(), ["pubspec.yaml"]);
    assert!(
        report.warnings.iter().any(|w| w.contains("not UTF-8")),
        "{:?}",
        report.warnings
    );
}
