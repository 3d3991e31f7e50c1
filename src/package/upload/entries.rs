//! Walks the tar entries of an upload one header at a time, the way pub's tar
//! reader sees them (docs/protocol.md §4): GNU long names and PAX headers are interpreted here, not
//! by the `tar` crate, so their sizes are checked before they are read and no
//! two readers can disagree on an entry's name or size.

use std::borrow::Cow;
use std::io::Read;
use std::mem;

use tar::{Archive, Entry, EntryType};

use super::paths::{Kind, Tree, normalise};
use super::{Error, Limits};

/// Largest GNU long-name or PAX record pub's tar reader accepts: 4 blocks (§4).
const MAX_METADATA: u64 = 2048;

const BLOCK: u64 = 512;

/// What the walk found: the root pubspec and the regular files, in order.
pub(super) struct Walked {
    pub pubspec: Option<Vec<u8>>,
    pub paths: Vec<String>,
}

/// Metadata records waiting for the entry they describe.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    pax: Option<Pax>,
}

/// What a PAX `x` header says about the next entry.
#[derive(Default)]
struct Pax {
    path: Option<Vec<u8>>,
    size: Option<u64>,
    sparse: bool,
}

struct Walk<'l> {
    limits: &'l Limits,
    tree: Tree,
    pending: Pending,
    root_seen: bool,
    walked: Walked,
}

/// Reads every entry up to the tar end-of-archive block, leaving the rest of the
/// stream unread.
pub(super) fn walk<R: Read>(archive: &mut Archive<R>, limits: &Limits) -> Result<Walked, Error> {
    let mut walk = Walk {
        limits,
        tree: Tree::new(limits.max_files),
        pending: Pending::default(),
        root_seen: false,
        walked: Walked {
            pubspec: None,
            paths: Vec::new(),
        },
    };
    // Raw entries: the crate would otherwise read long-name records whole, of
    // whatever size their header declares, before this module could look.
    let entries = archive
        .entries()
        .map_err(|source| Error::TarRead { offset: 0, source })?
        .raw(true);
    let mut next_header = 0;
    for entry in entries {
        let mut entry = entry.map_err(|source| Error::TarRead {
            offset: next_header,
            source,
        })?;
        // The crate has checked that this cannot overflow.
        next_header = entry.raw_file_position() + entry.size().div_ceil(BLOCK) * BLOCK;
        match entry.header().entry_type() {
            EntryType::GNULongName
            | EntryType::GNULongLink
            | EntryType::XHeader
            | EntryType::XGlobalHeader => walk.metadata(&mut entry)?,
            _ => walk.member(&mut entry)?,
        }
    }
    if walk.pending.long_name.is_some() || walk.pending.pax.is_some() {
        return Err(Error::TarStructure {
            offset: next_header,
            problem: "the archive ends with a long-name or PAX record but not the entry it describes",
        });
    }
    Ok(walk.walked)
}

impl Walk<'_> {
    /// Takes in a GNU long-name/long-link record or a PAX header.
    fn metadata<R: Read>(&mut self, entry: &mut Entry<'_, R>) -> Result<(), Error> {
        let offset = entry.raw_header_position();
        let kind = entry.header().entry_type();
        let record = match kind {
            EntryType::GNULongName => "GNU long-name record",
            EntryType::GNULongLink => "GNU long-link record",
            _ => "PAX header",
        };
        if entry.size() > MAX_METADATA {
            return Err(Error::MetadataTooLarge {
                record,
                offset,
                size: entry.size(),
                limit: MAX_METADATA,
            });
        }
        let structure = |problem| Error::TarStructure { offset, problem };
        match kind {
            EntryType::GNULongName => {
                if self.pending.long_name.is_some() {
                    return Err(structure("two GNU long-name records describe one entry"));
                }
                let mut name = read_body(entry)?;
                // The record holds the name and a NUL terminator, sometimes more.
                while name.last() == Some(&0) {
                    name.pop();
                }
                self.pending.long_name = Some(name);
            }
            // Only links use it, and links are refused with their own message.
            EntryType::GNULongLink => {}
            EntryType::XHeader => {
                if self.pending.pax.is_some() {
                    return Err(structure("two PAX headers describe one entry"));
                }
                self.pending.pax = Some(read_pax(entry)?);
            }
            _ => {
                // A global header applies to every later entry. Tools write
                // harmless ones (git archive: the commit id); any that would change
                // names or sizes is refused rather than interpreted.
                let pax = read_pax(entry)?;
                if pax.path.is_some() || pax.size.is_some() || pax.sparse {
                    return Err(structure(
                        "a PAX global header sets a path or size for every entry",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks a file, directory or other entry, with the metadata before it.
    fn member<R: Read>(&mut self, entry: &mut Entry<'_, R>) -> Result<(), Error> {
        let offset = entry.raw_header_position();
        let pending = mem::take(&mut self.pending);
        let pax = pending.pax.unwrap_or_default();
        let header = entry.header();
        let raw_name = match (pending.long_name, pax.path) {
            (Some(_), Some(_)) => {
                return Err(Error::TarStructure {
                    offset,
                    problem: "both a GNU long-name record and a PAX header name one entry",
                });
            }
            (Some(name), None) | (None, Some(name)) => name,
            (None, None) => header.path_bytes().into_owned(),
        };
        let size = entry.size();
        if pax.size.is_some_and(|pax_size| pax_size != size) {
            return Err(Error::TarStructure {
                offset,
                problem: "a PAX header gives an entry a size other than its tar header's",
            });
        }

        let type_flag = header.as_old().linkflag[0];
        let kind = if pax.sparse {
            Err(("GNU sparse file".into(), SPARSE_FIX))
        } else {
            classify(header.entry_type(), type_flag, &raw_name)
        };
        let kind = kind.map_err(|(kind, fix)| Error::UnsupportedEntry {
            path: String::from_utf8_lossy(&raw_name).into_owned(),
            kind: kind.into_owned(),
            fix,
        })?;
        let name = String::from_utf8(raw_name).map_err(|error| Error::PathNotUtf8 {
            path: String::from_utf8_lossy(error.as_bytes()).into_owned(),
        })?;

        // Declared sizes are claims: refuse one that cannot fit before reading it.
        let end = entry.raw_file_position().saturating_add(size);
        if end > self.limits.max_uncompressed {
            return Err(Error::DeclaredSizeTooLarge {
                path: name,
                declared: size,
                limit: self.limits.max_uncompressed,
            });
        }

        let path = normalise(&name)?;
        if path.is_empty() {
            // `.` is the package root: pub allows it, but only as a directory.
            return match kind {
                Kind::File => Err(Error::EmptyPath { path: name }),
                Kind::Dir if self.root_seen => Err(Error::DuplicatePath { path: name }),
                Kind::Dir => {
                    self.root_seen = true;
                    Ok(())
                }
            };
        }
        self.tree.insert(&path, kind)?;
        if kind == Kind::File {
            if path == "pubspec.yaml" {
                self.walked.pubspec = Some(self.read_pubspec(entry)?);
            }
            self.walked.paths.push(path);
        }
        Ok(())
    }

    fn read_pubspec<R: Read>(&self, entry: &mut Entry<'_, R>) -> Result<Vec<u8>, Error> {
        let limit = self.limits.max_pubspec as u64;
        if entry.size() > limit {
            return Err(Error::PubspecTooLarge {
                size: entry.size(),
                limit,
            });
        }
        let bytes = read_body(entry)?;
        if let Err(source) = std::str::from_utf8(&bytes) {
            return Err(Error::PubspecNotUtf8 {
                offset: source.valid_up_to(),
                source,
            });
        }
        Ok(bytes)
    }
}

const SPARSE_FIX: &str = "create the archive again without sparse-file support (no `--sparse`)";
const REBUILD_FIX: &str = "create the archive again with `dart pub publish` or a standard tar tool";
const REMOVE_FIX: &str = "remove it from the archive";

/// The kind of a member entry, or what it is and how to avoid it.
fn classify(
    entry_type: EntryType,
    type_flag: u8,
    name: &[u8],
) -> Result<Kind, (Cow<'static, str>, &'static str)> {
    let (kind, fix) = match entry_type {
        // Legacy tar marks directories by a NUL type flag and a trailing `/`, and
        // pub extracts them as directories (§4).
        EntryType::Regular if type_flag == 0 && name.ends_with(b"/") => return Ok(Kind::Dir),
        EntryType::Regular if name.ends_with(b"/") => {
            ("regular file whose name ends with `/`", REBUILD_FIX)
        }
        EntryType::Regular => return Ok(Kind::File),
        EntryType::Directory => return Ok(Kind::Dir),
        EntryType::Symlink => (
            "symbolic link",
            "remove the symlink or replace it with the file itself (`dart pub publish` does this)",
        ),
        EntryType::Link => (
            "hard link",
            "replace the hard link with a copy of the file (`dart pub publish` does this)",
        ),
        EntryType::Char => ("character device", REMOVE_FIX),
        EntryType::Block => ("block device", REMOVE_FIX),
        EntryType::Fifo => ("named pipe (FIFO)", REMOVE_FIX),
        EntryType::Continuous => ("contiguous file (tar type 7)", REBUILD_FIX),
        EntryType::GNUSparse => ("GNU sparse file", SPARSE_FIX),
        _ => {
            let kind = format!("tar entry of unknown type {:?}", char::from(type_flag));
            return Err((kind.into(), REBUILD_FIX));
        }
    };
    Err((kind.into(), fix))
}

/// Reads a whole entry body, whose size the caller has bounded, and refuses
/// a body cut short by the end of the stream.
fn read_body<R: Read>(entry: &mut Entry<'_, R>) -> Result<Vec<u8>, Error> {
    let offset = entry.raw_file_position();
    let size = entry.size();
    let mut body = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    entry
        .read_to_end(&mut body)
        .map_err(|source| Error::TarRead { offset, source })?;
    if (body.len() as u64) < size {
        return Err(Error::TarStructure {
            offset,
            problem: "the archive ends in the middle of an entry",
        });
    }
    Ok(body)
}

/// Reads a PAX header's records that matter here.
fn read_pax<R: Read>(entry: &mut Entry<'_, R>) -> Result<Pax, Error> {
    let offset = entry.raw_file_position();
    let body = read_body(entry)?;
    let mut pax = Pax::default();
    for record in tar::PaxExtensions::new(&body) {
        let record = record.map_err(|source| Error::TarRead { offset, source })?;
        match record.key_bytes() {
            b"path" => pax.path = Some(record.value_bytes().to_vec()),
            b"size" => {
                let size = record.value().ok().and_then(|v| v.parse().ok());
                pax.size = Some(size.ok_or(Error::TarStructure {
                    offset,
                    problem: "a PAX size record is not a number",
                })?);
            }
            key if key.starts_with(b"GNU.sparse.") => pax.sparse = true,
            // Times, owners, link targets, comments, attributes: pub ignores them.
            _ => {}
        }
    }
    Ok(pax)
}
