//! Which packages and versions exist, as served.
//!
//! The index keeps, per package, what every request needs (readers, versions, archive
//! hashes) and a listing body rendered once per index generation, on first request, and
//! kept gzip-encoded (the form `dart pub` asks for). Pubspecs stay in the store until a
//! listing is rendered, so ten thousand packages fit in little memory and start up at
//! once. Changes replace only the packages they touch.

mod plain;
mod render;
mod settings;

pub use plain::PlainBodies;
pub use render::archive_url;

use crate::auth::Readers;
use crate::config::Config;
use crate::package::version::Version;
use crate::store::{self, Catalog, UploadedPackage, VersionSummary};
use settings::Settings;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tracing::warn;

/// A JSON body, gzip-encoded; the plain form is decoded for a client that does not
/// accept gzip, and kept while in demand ([`PlainBodies`]).
#[derive(Debug, Clone)]
pub struct Body {
    pub gzip: bytes::Bytes,
}

impl Body {
    pub fn plain(&self) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&self.gzip[..])
            .read_to_end(&mut out)
            .expect("bodies are gzip-encoded by Body::new");
        out
    }
}

/// One served version: 40 bytes, the hash kept binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionView {
    sha256: [u8; 32],
    pub archive_size: u64,
}

impl VersionView {
    /// The archive's sha256, lowercase hex as the catalog and listings write it.
    pub fn sha256(&self) -> String {
        hex::encode(self.sha256)
    }
}

/// The versions of one package, ascending: their texts in one string and a fixed-size
/// entry each (docs/architecture.md, "The index"), instead of a map of parsed versions
/// and hex strings, which cost about 1.3 KB per version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Versions {
    texts: Box<str>,
    entries: Box<[Entry]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// Where this version's text ends in `texts`; it starts where the previous ends.
    end: u32,
    view: VersionView,
}

impl Versions {
    /// From versions in any order; of versions that compare equal (`1.0.0`, `01.0.0`)
    /// the last one given is kept, as a map would.
    fn new(mut versions: Vec<(Version, VersionView)>) -> Versions {
        // A stable sort keeps equal versions in input order; the last of a run wins.
        versions.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Vec<(Version, VersionView)> = Vec::with_capacity(versions.len());
        for (version, view) in versions {
            match kept.last_mut() {
                Some(last) if last.0 == version => *last = (version, view),
                _ => kept.push((version, view)),
            }
        }
        let mut texts = String::new();
        let entries = kept
            .into_iter()
            .map(|(version, view)| {
                texts.push_str(version.as_str());
                Entry {
                    end: u32::try_from(texts.len())
                        .expect("version texts of one package fit in 4 GiB"),
                    view,
                }
            })
            .collect();
        Versions {
            texts: texts.into_boxed_str(),
            entries,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn text(&self, i: usize) -> &str {
        let start = if i == 0 {
            0
        } else {
            self.entries[i - 1].end as usize
        };
        &self.texts[start..self.entries[i].end as usize]
    }

    /// `(text, version)` in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &VersionView)> {
        (0..self.entries.len()).map(|i| (self.text(i), &self.entries[i].view))
    }

    /// Every version, parsed, ascending.
    pub fn parsed(&self) -> Vec<Version> {
        self.iter()
            .map(|(text, _)| Version::parse(text).expect("index versions were parsed when built"))
            .collect()
    }

    /// The version equal to `version` (pub's equality: `01.0.0` is `1.0.0`).
    pub fn get(&self, version: &Version) -> Option<&VersionView> {
        // The common case is the exact text; then a binary search in pub's order.
        if let Some((_, view)) = self.iter().find(|(text, _)| *text == version.as_str()) {
            return Some(view);
        }
        let parsed =
            |i: usize| Version::parse(self.text(i)).expect("index versions were parsed when built");
        let (mut low, mut high) = (0, self.entries.len());
        while low < high {
            let mid = (low + high) / 2;
            match parsed(mid).cmp(version) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Some(&self.entries[mid].view),
            }
        }
        None
    }
}

/// One served package.
#[derive(Debug)]
pub struct PackageView {
    pub name: String,
    /// The repository it comes from (its config key); `None` for uploaded packages.
    pub repo: Option<String>,
    /// Who may read it besides admins.
    pub readers: Readers,
    pub discontinued: bool,
    pub replaced_by: Option<String>,
    retracted: Vec<Version>,
    pub versions: Versions,
    listing: OnceLock<Body>,
}

impl PackageView {
    /// The version whose text is exactly `text`.
    pub fn version(&self, text: &str) -> Option<&VersionView> {
        self.versions.get(&Version::parse(text).ok()?)
    }

    pub fn is_retracted(&self, version: &Version) -> bool {
        self.retracted.contains(version)
    }

    /// Whether both serve the same: equal but for the cached listing.
    fn same_as(&self, other: &PackageView) -> bool {
        self.name == other.name
            && self.repo == other.repo
            && self.readers == other.readers
            && self.discontinued == other.discontinued
            && self.replaced_by == other.replaced_by
            && self.retracted == other.retracted
            && self.versions == other.versions
    }

    /// The rendered listing, if this generation rendered it already.
    pub fn cached_listing(&self) -> Option<&Body> {
        self.listing.get()
    }

    /// Keeps a rendered listing for later requests; a concurrent render of the same
    /// bytes may win, which is harmless.
    fn cache_listing(&self, body: Body) -> Body {
        self.listing.get_or_init(|| body).clone()
    }
}

/// The whole served view; replaced (behind an `ArcSwap`) when it changes.
#[derive(Debug, Default, Clone)]
pub struct Index {
    packages: HashMap<String, Arc<PackageView>>,
}

impl Index {
    /// Builds the index from every version in the catalog and the state of uploaded
    /// packages. Versions are read one at a time and kept compactly as they come, so
    /// that building the index of a million versions never holds them all as rows.
    pub fn load(
        config: &Config,
        catalog: &dyn Catalog,
        uploaded: &[UploadedPackage],
    ) -> Result<Index, store::Error> {
        let mut gathered = Gathered::default();
        catalog.each_summary(&mut |v| gathered.add(v))?;
        let mut index = Index::default();
        index.replace(config, gathered, uploaded, None);
        Ok(index)
    }

    /// A copy with the packages in `names` rebuilt from `versions` (theirs only); the
    /// others are shared with `self`.
    pub fn with_packages(
        &self,
        config: &Config,
        names: &[String],
        versions: Vec<VersionSummary>,
        uploaded: &[UploadedPackage],
    ) -> Index {
        let mut gathered = Gathered::default();
        versions.into_iter().for_each(|v| gathered.add(v));
        let mut index = self.clone();
        index.replace(config, gathered, uploaded, Some(names));
        index
    }

    fn replace(
        &mut self,
        config: &Config,
        gathered: Gathered,
        uploaded: &[UploadedPackage],
        names: Option<&[String]>,
    ) {
        let uploaded: HashMap<&str, &UploadedPackage> =
            uploaded.iter().map(|p| (p.name.as_str(), p)).collect();
        for name in names.into_iter().flatten() {
            self.packages.remove(name);
        }
        for (name, pending) in gathered.packages {
            let settings = Settings::of(
                config,
                pending.repo.as_deref(),
                uploaded.get(name.as_str()).copied(),
                &name,
            );
            if let Some(view) = view(&name, pending, settings) {
                self.packages.insert(name, Arc::new(view));
            }
        }
    }

    /// This index, with the packages that did not change taken from `old`, so their
    /// rendered listings are kept.
    pub fn keeping_unchanged(mut self, old: &Index) -> Index {
        for (name, view) in &mut self.packages {
            if let Some(previous) = old.packages.get(name)
                && previous.same_as(view)
            {
                *view = previous.clone();
            }
        }
        self
    }

    pub fn package(&self, name: &str) -> Option<&Arc<PackageView>> {
        self.packages.get(name)
    }

    pub fn len(&self) -> usize {
        self.packages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.packages.keys().map(String::as_str)
    }
}

/// Versions read from the catalog, per package, kept compactly until the index is
/// built: a version's text and its 40-byte view, not its row.
#[derive(Default)]
struct Gathered {
    packages: HashMap<String, Pending>,
}

#[derive(Default)]
struct Pending {
    /// The repository of the first version read (`None` for uploaded packages).
    repo: Option<String>,
    texts: String,
    /// Where each version's text ends in `texts`, and its view.
    versions: Vec<(usize, VersionView)>,
}

impl Gathered {
    fn add(&mut self, v: VersionSummary) {
        let pending = match self.packages.get_mut(&v.package) {
            Some(pending) => pending,
            None => self.packages.entry(v.package).or_insert_with(|| Pending {
                repo: v.source.repo().map(str::to_string),
                ..Pending::default()
            }),
        };
        let mut sha256 = [0; 32];
        if let Err(e) = hex::decode_to_slice(&v.sha256, &mut sha256) {
            warn!(version = %v.version, sha256 = %v.sha256, error = %e, "not serving a stored version whose sha256 is not 64 hex digits");
            return;
        }
        pending.texts.push_str(&v.version);
        pending.versions.push((
            pending.texts.len(),
            VersionView {
                sha256,
                archive_size: v.archive_size,
            },
        ));
    }
}

fn view(name: &str, pending: Pending, settings: Settings) -> Option<PackageView> {
    let mut start = 0;
    let versions: Vec<(Version, VersionView)> = pending
        .versions
        .into_iter()
        .filter_map(|(end, view)| {
            let text = &pending.texts[start..end];
            start = end;
            Some((Version::parse(text).ok()?, view))
        })
        .collect();
    if versions.is_empty() {
        return None;
    }
    Some(PackageView {
        name: name.to_string(),
        repo: pending.repo,
        readers: settings.readers,
        discontinued: settings.discontinued,
        replaced_by: settings.replaced_by,
        retracted: settings.retracted,
        versions: Versions::new(versions),
        listing: OnceLock::new(),
    })
}
