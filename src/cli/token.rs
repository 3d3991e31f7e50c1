//! `tagpub token issue|list|revoke`, working on the data dir directly, also while the
//! daemon runs (SQLite in WAL mode lets both write).
//!
//! Whoever runs these is the *operator*: they read the data dir and edit registry.yaml,
//! so they manage anyone's tokens ([`TokenManager::Operator`] in the one rule that also
//! decides over HTTP, `auth::policy::may_manage_tokens`). There is no `--as MEMBER`:
//! acting for a member is what that member's own token and `api/tokens` are for.

use crate::auth::policy::{self, TokenManager};
use crate::auth::token;
use crate::clock::{now, parse_lifetime, rfc3339};
use crate::config::{Config, Email};
use crate::store::Store;
use anyhow::{Context, bail};
use std::process::ExitCode;
use tracing::info;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token for a member; the secret is printed alone on the last line.
    Issue {
        #[arg(long)]
        member: Email,
        /// A label to recognise the token by ("laptop", "github-actions").
        #[arg(long, default_value = "")]
        name: String,
        /// Lifetime such as 90d, 12h or 30m; no expiry by default.
        #[arg(long)]
        expires_in: Option<String>,
        /// Also write the secret to this file, readable only by its owner (for CI
        /// systems without secret variables).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        member: Option<Email>,
    },
    /// Revoke one token by id, or every token of a member with --member.
    Revoke {
        /// The token id (`tk_…`), as shown by `tagpub token list`.
        #[arg(required_unless_present = "member", conflicts_with = "member")]
        id: Option<String>,
        #[arg(long)]
        member: Option<Email>,
    },
}

/// The operator's check of the token rule: always passes, and keeps the rule in one place.
fn operator_may(config: &Config, member: &Email) -> anyhow::Result<()> {
    policy::may_manage_tokens(config, &[], TokenManager::Operator, member)
        .map_err(anyhow::Error::msg)
}

pub fn run(config: Config, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let store = Store::open_configured(&config, false).context("while opening the store")?;
    match command {
        TokenCommand::Issue {
            member,
            name,
            expires_in,
            file,
        } => {
            if !policy::is_member(&config, &member) {
                bail!(
                    "{member} is not a member; add it under members in {} first",
                    config.path.display()
                );
            }
            operator_may(&config, &member)?;
            let now = now();
            let expires = match expires_in {
                Some(text) => Some(now.saturating_add(
                    parse_lifetime(&text).map_err(|e| anyhow::anyhow!("--expires-in: {e}"))?,
                )),
                None => None,
            };
            let issued = token::issue(&store, &member, &name, expires, now)
                .context("while issuing the token")?;
            info!(member = %member, token_id = %issued.record.id, "issued token {} for {member} on the command line", issued.record.id);
            if let Some(path) = file {
                write_private(&path, issued.secret.expose())
                    .with_context(|| format!("while writing the token to {}", path.display()))?;
                println!("wrote the token to {} (mode 0600)", path.display());
            }
            println!(
                "token {} for {member}{}",
                issued.record.id,
                expires
                    .map(|e| format!(", expires {}", rfc3339(e)))
                    .unwrap_or_default()
            );
            println!(
                "add it with: dart pub token add {}",
                config.base_url.as_str()
            );
            println!("{}", issued.secret.expose());
        }
        TokenCommand::List { member } => {
            if let Some(m) = &member {
                operator_may(&config, m)?;
            }
            let tokens = store
                .tokens
                .tokens(member.as_deref())
                .context("while listing tokens")?;
            println!(
                "{:<20} {:<28} {:<16} {:<20} {:<20} {:<20}",
                "ID", "MEMBER", "NAME", "CREATED", "LAST USED", "EXPIRES"
            );
            let never = || "-".to_string();
            for t in tokens {
                let expires = match (t.revoked, t.expires) {
                    (Some(r), _) => format!("revoked {}", rfc3339(r)),
                    (None, Some(e)) => rfc3339(e),
                    (None, None) => never(),
                };
                println!(
                    "{:<20} {:<28} {:<16} {:<20} {:<20} {:<20}",
                    t.id,
                    t.member,
                    if t.name.is_empty() { "-" } else { &t.name },
                    rfc3339(t.created),
                    t.last_used.map_or_else(never, rfc3339),
                    expires
                );
            }
        }
        TokenCommand::Revoke { id: Some(id), .. } => {
            let Some(record) = store
                .tokens
                .token_by_id(&id)
                .context("while finding the token")?
            else {
                bail!("no token has the id {id}; `tagpub token list` shows them");
            };
            operator_may(&config, &Email::new(&record.member))?;
            if store
                .tokens
                .revoke_token(&id, now())
                .context("while revoking")?
            {
                info!(member = %record.member, token_id = %id, "revoked token {id} of {} on the command line", record.member);
                println!("revoked {id} of {}", record.member);
            } else {
                println!("{id} of {} was already revoked", record.member);
            }
        }
        TokenCommand::Revoke {
            member: Some(member),
            ..
        } => {
            operator_may(&config, &member)?;
            let ids = store
                .tokens
                .revoke_member(&member, now())
                .context("while revoking")?;
            info!(member = %member, count = ids.len(), "revoked every token of {member} on the command line");
            println!(
                "revoked {} token(s) of {member}{}",
                ids.len(),
                if ids.is_empty() {
                    String::new()
                } else {
                    format!(": {}", ids.join(", "))
                }
            );
        }
        TokenCommand::Revoke { .. } => bail!("say which token to revoke: an id, or --member EMAIL"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` with mode 0600 (never readable by others, not even briefly).
fn write_private(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(format!("{secret}\n").as_bytes())?;
    f.sync_all()
}
