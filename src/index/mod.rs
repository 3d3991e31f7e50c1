//! Which packages and versions exist, as served.
//!
//! The index keeps, per package, what every request needs (readers, versions, archive
//! hashes) and a listing body rendered once per index generation, on first request, and
//! kept gzip-encoded (the form `dart pub` asks for). Pubspecs stay in the store until a
//! listing is rendered, so ten thousand packages fit in little memory and start up at
//! once. Changes replace only the packages they touch.

mod render;
mod settings;

pub use render::archive_url;

use crate::auth::Readers;
use crate::config::Config;
use crate::package::version::Version;
use crate::store::{UploadedPackage, VersionSummary};
use settings::Settings;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

/// A JSON body, gzip-encoded; the plain form is decoded for the rare client that does
/// not accept gzip.
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

/// One served version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionView {
    pub sha256: String,
    pub archive_size: u64,
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
    pub versions: BTreeMap<Version, VersionView>,
    listing: OnceLock<Body>,
}

impl PackageView {
    /// The version whose text is exactly `text`.
    pub fn version(&self, text: &str) -> Option<&VersionView> {
        let v = Version::parse(text).ok()?;
        if v.as_str() != text {
            return None;
        }
        self.versions.get(&v)
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
    /// Builds the index from every stored version and the state of uploaded packages.
    pub fn build(
        config: &Config,
        versions: Vec<VersionSummary>,
        uploaded: &[UploadedPackage],
    ) -> Index {
        let mut index = Index::default();
        index.replace(config, versions, uploaded, None);
        index
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
        let mut index = self.clone();
        index.replace(config, versions, uploaded, Some(names));
        index
    }

    fn replace(
        &mut self,
        config: &Config,
        versions: Vec<VersionSummary>,
        uploaded: &[UploadedPackage],
        names: Option<&[String]>,
    ) {
        let uploaded: HashMap<&str, &UploadedPackage> =
            uploaded.iter().map(|p| (p.name.as_str(), p)).collect();
        let mut by_package: HashMap<String, Vec<VersionSummary>> = HashMap::new();
        for v in versions {
            by_package.entry(v.package.clone()).or_default().push(v);
        }
        for name in names.into_iter().flatten() {
            self.packages.remove(name);
        }
        for (name, versions) in by_package {
            let settings = Settings::of(
                config,
                &versions,
                uploaded.get(name.as_str()).copied(),
                &name,
            );
            if let Some(view) = view(&name, versions, settings) {
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

fn view(name: &str, summaries: Vec<VersionSummary>, settings: Settings) -> Option<PackageView> {
    let repo = summaries
        .first()
        .and_then(|v| v.source.repo())
        .map(str::to_string);
    let versions: BTreeMap<Version, VersionView> = summaries
        .into_iter()
        .filter_map(|v| {
            let parsed = Version::parse(&v.version).ok()?;
            Some((
                parsed,
                VersionView {
                    sha256: v.sha256,
                    archive_size: v.archive_size,
                },
            ))
        })
        .collect();
    if versions.is_empty() {
        return None;
    }
    Some(PackageView {
        name: name.to_string(),
        repo,
        readers: settings.readers,
        discontinued: settings.discontinued,
        replaced_by: settings.replaced_by,
        retracted: settings.retracted,
        versions,
        listing: OnceLock::new(),
    })
}
