//! Mirrors of remote repositories inside `data_dir`, holding only tags and the objects
//! they reach.

use super::Error;
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// Fetches every tag of `url` into the bare mirror at `dir`, creating it on first use.
/// Later calls are incremental: only objects the mirror lacks are transferred.
///
/// Tags moved upstream are force-updated in the mirror (the caller notices the move and
/// keeps serving the first archive); tags deleted upstream stay in the mirror, because
/// a deleted tag keeps serving. Returns the names of the tags the remote has now, so the
/// caller can tell which ones were deleted.
///
/// `credentials` is `(username, password)` for https remotes.
pub fn fetch_mirror(
    url: &str,
    location: &str,
    dir: &Path,
    credentials: Option<(String, String)>,
) -> Result<HashSet<String>, Error> {
    let fetch_err = |source| Error::Fetch {
        location: location.to_string(),
        source,
    };
    let repo = if dir.join("HEAD").is_file() {
        gix::open_opts(dir, gix::open::Options::isolated()).map_err(|source| Error::Open {
            location: dir.display().to_string(),
            source,
        })?
    } else {
        std::fs::create_dir_all(dir).map_err(|e| Error::CreateMirror {
            path: dir.to_path_buf(),
            source: gix::Error::from_error(e),
        })?;
        gix::init_bare(dir).map_err(|source| Error::CreateMirror {
            path: dir.to_path_buf(),
            source,
        })?
    };
    let remote = repo
        .remote_at(url)
        .map_err(fetch_err)?
        .with_fetch_tags(gix::remote::fetch::Tags::None)
        .with_refspecs(
            Some("+refs/tags/*:refs/tags/*"),
            gix::remote::Direction::Fetch,
        )
        .map_err(fetch_err)?;
    let connection = remote
        .connect(gix::remote::Direction::Fetch)
        .map_err(fetch_err)?;
    let connection = match credentials {
        // Answer the transport's credential requests ourselves, so that neither git's
        // credential helpers nor an interactive prompt are ever consulted by the daemon.
        Some((username, password)) => connection.with_credentials(move |action| match action {
            gix::credentials::helper::Action::Get(ctx) => {
                Ok(Some(gix::credentials::protocol::Outcome {
                    identity: gix::sec::identity::Account {
                        username: username.clone(),
                        password: password.clone(),
                        oauth_refresh_token: None,
                    },
                    next: ctx.into(),
                }))
            }
            _ => Ok(None),
        }),
        None => connection.with_credentials(|_| Ok(None)),
    };
    let interrupt = AtomicBool::new(false);
    let prepare = connection
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(fetch_err)?;
    // The advertisement already says whether anything changed. When every remote tag
    // names what the mirror has, skip negotiation and ref updates: with a thousand tags
    // they cost far more than the listing, and an idle poll is the common case.
    let remote_tags: HashSet<String> = prepare
        .ref_map()
        .mappings
        .iter()
        .filter_map(|m| m.local.as_ref())
        .filter_map(|local| std::str::from_utf8(local.as_slice()).ok())
        .filter_map(|local| local.strip_prefix("refs/tags/"))
        .map(str::to_string)
        .collect();
    let up_to_date = prepare.ref_map().mappings.iter().all(|m| {
        let (Some(local), Some(remote)) = (&m.local, m.remote.as_id()) else {
            return true;
        };
        std::str::from_utf8(local.as_slice())
            .ok()
            .and_then(|name| repo.try_find_reference(name).ok().flatten())
            .and_then(|r| r.target().try_id().map(|id| id == remote))
            .unwrap_or(false)
    });
    if up_to_date {
        return Ok(remote_tags);
    }
    prepare
        .receive(gix::progress::Discard, &interrupt)
        .map_err(fetch_err)?;
    Ok(remote_tags)
}
