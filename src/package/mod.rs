//! A Dart package as pub sees it: versions, names, the pubspec, which files are
//! published, and the archive.

pub mod archive;
pub mod files;
pub mod name;
pub mod path;
pub mod pubspec;
pub mod upload;
pub mod version;
