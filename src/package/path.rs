//! Paths inside a package archive: what extracts to the same place on every client
//! (docs/protocol.md §4). The rules live here once. Archives tagpub builds from git
//! trees hold only clean paths ([`check_clean`]); the names in an uploaded archive are
//! read the way pub extracts them ([`normalise`]), which forgives `./`, `//` and a
//! trailing `/`.

/// What makes a path unusable in a package archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("it is empty")]
    Empty,
    #[error("it is absolute")]
    Absolute,
    #[error("it contains NUL")]
    Nul,
    /// Windows reads a backslash as a directory separator.
    #[error("it contains a backslash")]
    Backslash,
    #[error("it has an empty component")]
    EmptyComponent,
    #[error("it has a `.` or `..` component")]
    DotComponent,
    /// A `..` component, which could reach outside the package.
    #[error("it has a `..` component")]
    Escaping,
}

/// Accepts only a clean relative path: not empty, `/`-separated, no `.`, `..` or
/// empty components and no NUL.
pub fn check_clean(path: &str) -> Result<(), Problem> {
    let problem = if path.is_empty() {
        Problem::Empty
    } else if path.starts_with('/') {
        Problem::Absolute
    } else if path.contains('\0') {
        Problem::Nul
    } else if path.split('/').any(str::is_empty) {
        Problem::EmptyComponent
    } else if path.split('/').any(|c| c == "." || c == "..") {
        Problem::DotComponent
    } else {
        return Ok(());
    };
    Err(problem)
}

/// The relative path the tar name `name` extracts to, `""` for the package root.
///
/// pub splits on `/` and normalises, so `./x`, `x/` and `x//` are all `x` (§4).
/// `..` is refused even where it would stay inside the package (`a/../b`): only a
/// hand-made archive has it, and pub's own client versions disagree on it.
pub fn normalise(name: &str) -> Result<String, Problem> {
    if name.contains('\0') {
        return Err(Problem::Nul);
    }
    if name.contains('\\') {
        return Err(Problem::Backslash);
    }
    if name.starts_with('/') {
        return Err(Problem::Absolute);
    }
    let parts: Vec<&str> = name
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(Problem::Escaping);
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths_are_plain_relative_paths() {
        for good in ["pubspec.yaml", "lib/src/a.dart", "a b/.hidden/c..d"] {
            assert_eq!(check_clean(good), Ok(()), "{good:?}");
        }
        for (bad, problem) in [
            ("", Problem::Empty),
            ("/etc/passwd", Problem::Absolute),
            ("a\0b", Problem::Nul),
            ("a//b", Problem::EmptyComponent),
            ("a/", Problem::EmptyComponent),
            ("./a", Problem::DotComponent),
            ("a/../b", Problem::DotComponent),
        ] {
            assert_eq!(check_clean(bad), Err(problem), "{bad:?}");
        }
    }

    #[test]
    fn uploaded_names_are_read_as_pub_extracts_them() {
        for (name, path) in [
            ("./lib/a.dart", "lib/a.dart"),
            ("lib//a.dart/", "lib/a.dart"),
            ("./", ""),
        ] {
            assert_eq!(normalise(name).as_deref(), Ok(path), "{name:?}");
        }
        for (bad, problem) in [
            ("/a\0", Problem::Nul),
            ("/lib\\a", Problem::Backslash),
            ("/etc/passwd", Problem::Absolute),
            ("lib/../a", Problem::Escaping),
        ] {
            assert_eq!(normalise(bad), Err(problem), "{bad:?}");
        }
    }
}
