//! The state every adapter of the server shares: the application (its store and policy), the
//! configuration, the metrics, the verified API tokens, and what the console keeps in memory.
//! One allocation, so that the copy each request's extractors take costs one reference count.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use consento_app::App;
use consento_app::tokens::Principal;
use consento_store::{Store, StoreError, token_digest};

use crate::config::ServeConfig;
use crate::metrics::Metrics;

/// What every handler, page and worker can reach: one shared allocation, so that the copy each extractor takes
/// per request costs one reference count, not six.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state of a server holding `shared`.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    /// The use cases, with the policy from configuration.
    pub app: App,
    /// The store, for single reads.
    pub store: Arc<Store>,
    /// Verified tokens.
    pub tokens: Arc<TokenCache>,
    /// Counters and histograms for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The configuration the server runs with.
    pub config: Arc<ServeConfig>,
    /// Audience exports streaming now: each holds a read connection for as long as its client
    /// reads, so they are capped below the pool's size (decisions and writes keep theirs).
    pub exports: Arc<tokio::sync::Semaphore>,
    /// The console's in-memory state (login rate limits).
    pub console: Arc<ConsoleState>,
    /// The proxies whose forwarding header names the client (see [`crate::client`]).
    pub proxies: crate::client::TrustedProxies,
}

impl Shared {
    /// Messages in `locale`, dates in the office's zone.
    pub fn tr(&self, locale: crate::i18n::Locale) -> crate::i18n::Tr {
        crate::i18n::Tr::new(locale, crate::i18n::interned(self.app.zone()))
    }
}

/// What the console keeps in memory beside the application state.
#[derive(Debug, Default)]
pub struct ConsoleState {
    /// Requests per client address: logins, public pages.
    pub limiter: RateLimiter,
}

/// How long a verified token is trusted without asking the database again: the longest a
/// revocation takes to reach another process.
const TOKEN_TTL: Duration = Duration::from_secs(10);
/// Entries kept at most; the cache is emptied when full (tokens are few; this bounds memory
/// against a flood of distinct valid tokens, not a normal load).
const TOKEN_CACHE_MAX: usize = 10_000;

/// A verified token's principal and when it was verified, by the token's digest.
type Verified = HashMap<[u8; 32], (Arc<Principal>, Instant)>;

/// Verified tokens by digest, so that a decision does not cost a token query.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: RwLock<Verified>,
}

impl TokenCache {
    /// The principal of a token secret, or `None` if it is unknown, revoked or expired.
    pub async fn principal(
        &self,
        store: &Store,
        secret: &str,
    ) -> Result<Option<Arc<Principal>>, StoreError> {
        let digest = token_digest(secret);
        let now = Instant::now();
        if let Ok(map) = self.entries.read()
            && let Some((p, at)) = map.get(&digest)
            && now.duration_since(*at) < TOKEN_TTL
        {
            return Ok(Some(Arc::clone(p)));
        }
        // Boxed: a miss is rare, and its database future would otherwise swell every
        // request's.
        let Some(token) = Box::pin(store.token_by_digest(&digest)).await? else {
            return Ok(None);
        };
        let principal = Arc::new(Principal::of(&token));
        if let Ok(mut map) = self.entries.write() {
            if map.len() >= TOKEN_CACHE_MAX {
                map.clear();
            }
            map.insert(digest, (Arc::clone(&principal), now));
        }
        Ok(Some(principal))
    }
}

/// Requests per client address and purpose (`login`, `public`, …), in fixed one-minute windows.
/// Kept in memory: it slows a guesser or a flood hitting one process; the lockout per account
/// (in the database) holds across processes.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<(IpAddr, &'static str), Window>>,
}

/// When a client's current window began, and how many requests it has made in it.
type Window = (Instant, u32);

impl RateLimiter {
    /// Counts a request from `ip` for `purpose`; false when it is over `per_minute`.
    pub fn allow(&self, ip: IpAddr, purpose: &'static str, per_minute: u32) -> bool {
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return true;
        };
        // Forget old windows now and then, so the map stays bounded by recent clients.
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let entry = windows.entry((ip, purpose)).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_refuses_past_the_budget() {
        let l = RateLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!((0..3).all(|_| l.allow(ip, "login", 3)));
        assert!(!l.allow(ip, "login", 3));
        assert!(l.allow(ip, "public", 3), "each purpose has its own budget");
        assert!(l.allow("127.0.0.2".parse().unwrap(), "login", 3));
    }
}
