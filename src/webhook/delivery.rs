//! Deliveries: how large one may be, and which ones were seen already.
//!
//! Forges send a delivery again when they think it failed (a timeout, a 5xx) and on a
//! person's "redeliver"; each names the delivery with an id that stays the same across
//! those retries. A delivery seen recently is acknowledged without a second fetch.

use super::Provider;
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// The largest delivery body accepted; a larger one is refused before any signature is
/// computed over it. A push of tags is a few kilobytes (GitHub and Gitea send one event
/// per ref, GitLab a separate Tag Push Hook with at most 20 commits, Bitbucket Cloud
/// caps its payloads at 256 KB); only a push of a huge branch comes near a megabyte,
/// and tagpub has nothing to do for it. The body is checked against the secret of every
/// repository that has one, so this also bounds the work an unsigned request can cause.
pub const MAX_DELIVERY_BYTES: usize = 1 << 20;

/// How many delivery ids are remembered. Retries come within minutes; a thousand
/// deliveries is hours of pushes for most organisations, in about 100 KB.
const REMEMBERED: usize = 1024;

/// The longest delivery id kept; ids are UUIDs (36 characters).
const MAX_ID_LEN: usize = 128;

/// The id a provider gives a delivery, stable across its retries: GitHub's
/// `X-GitHub-Delivery`; Forgejo's `X-Forgejo-Delivery` and Gitea's `X-Gitea-Delivery`
/// (Gogs: `X-Gogs-Delivery`); GitLab's `Idempotency-Key` (GitLab 17.4 and later,
/// the same on retries), else `X-Gitlab-Event-UUID`; Bitbucket Cloud's
/// `X-Request-UUID` and Bitbucket Data Center's `X-Request-Id`. Not `X-Hook-UUID` nor
/// `X-Gitlab-Webhook-UUID`: those name the webhook, not the delivery.
pub fn delivery_id(provider: Provider, headers: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let candidates: &[&str] = match provider {
        Provider::GitHub => &["X-GitHub-Delivery"],
        Provider::Gitea => &["X-Forgejo-Delivery", "X-Gitea-Delivery", "X-Gogs-Delivery"],
        Provider::GitLab => &["Idempotency-Key", "X-Gitlab-Event-UUID"],
        Provider::Bitbucket => &["X-Request-UUID", "X-Request-Id"],
    };
    candidates.iter().find_map(|h| {
        headers(h)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty() && v.len() <= MAX_ID_LEN)
    })
}

/// A delivery as remembered.
type DeliveryKey = (Provider, String);

/// The ids of recent deliveries, per provider; the oldest is forgotten first.
#[derive(Debug, Default)]
pub struct RecentDeliveries {
    seen: Mutex<(HashSet<DeliveryKey>, VecDeque<DeliveryKey>)>,
}

impl RecentDeliveries {
    /// Remembers delivery `id` of `provider`; false if it was remembered already. Call
    /// only for verified deliveries, so that nobody without the secret can make tagpub
    /// ignore a real one.
    pub fn first_time(&self, provider: Provider, id: &str) -> bool {
        let mut guard = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let (set, order) = &mut *guard;
        let key = (provider, id.to_string());
        if !set.insert(key.clone()) {
            return false;
        }
        order.push_back(key);
        if order.len() > REMEMBERED
            && let Some(oldest) = order.pop_front()
        {
            set.remove(&oldest);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_provider_names_its_delivery_and_webhook_ids_are_not_taken() {
        let headers = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_string())
            }
        };
        let id = |p, h: &dyn Fn(&str) -> Option<String>| delivery_id(p, h);
        assert_eq!(
            id(Provider::GitHub, &headers(&[("x-github-delivery", "g1")])),
            Some("g1".into())
        );
        assert_eq!(
            id(
                Provider::Gitea,
                &headers(&[("X-Gitea-Delivery", "t1"), ("X-Forgejo-Delivery", "f1")])
            ),
            Some("f1".into())
        );
        assert_eq!(
            id(
                Provider::GitLab,
                &headers(&[("X-Gitlab-Event-UUID", "e1"), ("Idempotency-Key", "k1")])
            ),
            Some("k1".into())
        );
        assert_eq!(
            id(
                Provider::GitLab,
                &headers(&[("X-Gitlab-Webhook-UUID", "w1")])
            ),
            None
        );
        assert_eq!(
            id(Provider::Bitbucket, &headers(&[("X-Hook-UUID", "h1")])),
            None
        );
        assert_eq!(
            id(Provider::Bitbucket, &headers(&[("X-Request-UUID", " r1 ")])),
            Some("r1".into())
        );
    }

    #[test]
    fn a_delivery_is_new_once_and_old_ids_are_forgotten() {
        let recent = RecentDeliveries::default();
        assert!(recent.first_time(Provider::GitHub, "a"));
        assert!(!recent.first_time(Provider::GitHub, "a"));
        assert!(
            recent.first_time(Provider::GitLab, "a"),
            "ids are per provider"
        );
        for i in 0..REMEMBERED {
            assert!(recent.first_time(Provider::GitHub, &i.to_string()));
        }
        assert!(
            recent.first_time(Provider::GitHub, "a"),
            "forgotten after a while"
        );
        let (set, order) = &*recent.seen.lock().unwrap();
        assert!(set.len() <= REMEMBERED && order.len() <= REMEMBERED);
    }
}
