//! Who is asking: the client address, and the sign-in rate limits keyed by it.
//!
//! The address is the TCP peer, unless the peer is one of `console.trusted_proxy`; then it is
//! the right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries further
//! left were written by the client and prove nothing). A header from any other peer is ignored,
//! so a client cannot choose its own address to slip past the limits.
//!
//! The limits are kept in this process's memory: a restart forgets them, and each replica
//! counts on its own (a client spread over N replicas gets N times the allowance). That is
//! enough to stop a script mailing an official a thousand links; it is not an account lock.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

/// The client's address for a request from `peer` with `headers`.
pub fn client_addr(peer: Option<SocketAddr>, headers: &HeaderMap, proxies: &[IpAddr]) -> IpAddr {
    let Some(peer) = peer.map(|p| p.ip()) else {
        return IpAddr::from([0, 0, 0, 0]);
    };
    if !proxies.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|a| !proxies.contains(a))
        .unwrap_or(peer)
}

/// A sliding-window counter per key: at most `max` events in `window`.
pub struct Limiter {
    max: usize,
    window: Duration,
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    pub fn new(max: usize, window: Duration) -> Limiter {
        Limiter {
            max,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an event for `key` at `now`; false when the key is over its limit (then the
    /// event is not counted, so a blocked client's retries do not extend the block).
    pub fn allow(&self, key: &str, now: Instant) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        if seen.len() > 100_000 {
            // A flood of distinct keys: forget the idle ones rather than grow without end.
            seen.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        let q = seen.entry(key.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.len() >= self.max {
            return false;
        }
        q.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().expect("header"));
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().expect("ip");
        let from_proxy = Some(SocketAddr::new(proxy, 40000));
        let from_client = Some("203.0.113.9:40000".parse().expect("addr"));
        let h = xff("1.1.1.1, 198.51.100.7");
        assert_eq!(
            client_addr(from_client, &h, &[proxy]).to_string(),
            "203.0.113.9"
        );
        assert_eq!(
            client_addr(from_proxy, &h, &[proxy]).to_string(),
            "198.51.100.7"
        );
        assert_eq!(client_addr(from_proxy, &HeaderMap::new(), &[proxy]), proxy);
        let chain = xff("198.51.100.7, 10.0.0.2");
        assert_eq!(
            client_addr(from_proxy, &chain, &[proxy]).to_string(),
            "198.51.100.7"
        );
    }

    #[test]
    fn the_limiter_allows_max_per_window_per_key() {
        let l = Limiter::new(2, Duration::from_secs(60));
        let t = Instant::now();
        assert!(l.allow("a", t));
        assert!(l.allow("a", t));
        assert!(!l.allow("a", t));
        assert!(l.allow("b", t));
        assert!(l.allow("a", t + Duration::from_secs(61)));
    }
}
