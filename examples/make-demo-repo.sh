#!/usr/bin/env bash
# Re-creates examples/tagpub_hello.git, the bare repository that the shipped
# registry.yaml serves out of the box: a small Dart package with three tagged releases.
# Dates and identities are fixed so the result is the same on every machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/tagpub_hello.git"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME="$work"
export GIT_AUTHOR_NAME="tagpub demo" GIT_AUTHOR_EMAIL="demo@tagpub.invalid"
export GIT_COMMITTER_NAME="tagpub demo" GIT_COMMITTER_EMAIL="demo@tagpub.invalid"
git() { command git -c init.defaultBranch=main -c commit.gpgsign=false -c tag.gpgsign=false "$@"; }

release() { # version date message
  sed -i "s/^version: .*/version: $1/" pubspec.yaml
  printf '## %s\n\n- %s\n\n' "$1" "$3" | cat - CHANGELOG.md > CHANGELOG.tmp && mv CHANGELOG.tmp CHANGELOG.md
  git add -A
  GIT_AUTHOR_DATE="$2" GIT_COMMITTER_DATE="$2" git commit -q -m "Release $1"
  GIT_COMMITTER_DATE="$2" git tag -a "v$1" -m "tagpub_hello $1"
}

cd "$work"
git init -q src && cd src
cat > pubspec.yaml <<'YAML'
name: tagpub_hello
description: A tiny greeting package that tagpub serves out of the box — héllo, wörld.
version: 0.0.0
repository: https://example.invalid/tagpub_hello
environment:
  sdk: ^3.0.0
YAML
mkdir -p lib/src
cat > lib/tagpub_hello.dart <<'DART'
/// Greetings, served by tagpub from a git tag.
library;

export 'src/greet.dart';
DART
cat > lib/src/greet.dart <<'DART'
/// Returns a greeting for [name].
String greet(String name) => 'Hello, $name!';
DART
printf 'A tiny package served by tagpub.\n' > README.md
printf 'MIT License\n\nCopyright (c) 2026 tagpub authors\n' > LICENSE
: > CHANGELOG.md
printf '.dart_tool/\nbuild/\n' > .gitignore
release 1.0.0 "2026-01-05T10:00:00Z" "First release."
cat > lib/src/greet.dart <<'DART'
/// Returns a greeting for [name], optionally [loud].
String greet(String name, {bool loud = false}) =>
    loud ? 'HELLO, ${name.toUpperCase()}!' : 'Hello, $name!';
DART
release 1.1.0 "2026-02-10T10:00:00Z" "Adds the loud greeting."
cat > lib/src/greet.dart <<'DART'
/// Returns a greeting for [name] in [language] ('en' or 'fr').
String greet(String name, {bool loud = false, String language = 'en'}) {
  final text = language == 'fr' ? 'Bonjour, $name !' : 'Hello, $name!';
  return loud ? text.toUpperCase() : text;
}
DART
release 2.0.0-beta.1 "2026-03-01T10:00:00Z" "Adds languages (pre-release)."

rm -rf "$out"
git clone -q --bare "$work/src" "$out"
git -C "$out" gc -q --aggressive
git -C "$out" pack-refs --all
mkdir -p "$out/refs"
echo "# git tracks no empty directories; a repository needs refs/ to be recognised" > "$out/refs/README"
rm -rf "$out/hooks" "$out/logs" "$out/description" "$out/info" "$out/FETCH_HEAD"
echo "wrote $out"
