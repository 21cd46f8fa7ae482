//! A short-lived, in-process cache of the rows every login reads: connections (by id
//! and by client id) and products. Logins read them three to four times each, while
//! they change only when an admin edits something.
//!
//! Rules:
//! - Every write through this store to `connections` or `products` empties the cache
//!   at once, so this process never serves a stale row after its own write.
//! - A read that started before such a write never fills the cache (a generation
//!   counter is checked when the result arrives).
//! - Entries live at most `ttl` (default 2 s), which bounds how long another server
//!   process may use a row that this one changed (a disabled connection, a rotated
//!   secret). `ttl = 0` turns the cache off.
//! - Unknown ids are not cached (random client ids cannot fill memory), and the cache
//!   is emptied when it holds more than [`MAX_ENTRIES`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gatehouse_domain::model::{Connection, Product};

/// More entries than this empties the cache (it refills with what is in use).
pub const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub(crate) struct ReadCache {
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    generation: u64,
    connections: HashMap<String, (Instant, Connection)>,
    /// client id → connection id
    client_ids: HashMap<String, String>,
    products: HashMap<String, (Instant, Product)>,
}

impl Inner {
    fn clear(&mut self) {
        self.connections.clear();
        self.client_ids.clear();
        self.products.clear();
    }

    fn make_room(&mut self) {
        if self.connections.len() + self.products.len() >= MAX_ENTRIES {
            self.clear();
        }
    }
}

/// Taken before a database read; the result is cached only if no write happened since.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

impl ReadCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way
        // that matters: at worst an entry is missing.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    fn fresh(&self, at: Instant) -> bool {
        at.elapsed() < self.ttl
    }

    pub fn ticket(&self) -> Ticket {
        Ticket(self.lock().generation)
    }

    /// Forget everything (after any write to connections or products).
    pub fn invalidate(&self) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        inner.clear();
    }

    /// The maps, if the cache is on.
    fn readable(&self) -> Option<MutexGuard<'_, Inner>> {
        self.enabled().then(|| self.lock())
    }

    /// The maps, if the cache is on and nothing was written since `ticket` was taken
    /// (with room made for one more entry).
    fn writable(&self, ticket: Ticket) -> Option<MutexGuard<'_, Inner>> {
        let mut inner = self.readable()?;
        if inner.generation != ticket.0 {
            return None;
        }
        inner.make_room();
        Some(inner)
    }

    pub fn connection(&self, id: &str) -> Option<Connection> {
        let inner = self.readable()?;
        let (at, c) = inner.connections.get(id)?;
        self.fresh(*at).then(|| c.clone())
    }

    /// By the connection's own client id or the one it gave Ory.
    pub fn connection_by_client_id(&self, client_id: &str) -> Option<Connection> {
        let inner = self.readable()?;
        let id = inner.client_ids.get(client_id)?;
        let (at, c) = inner.connections.get(id)?;
        let matches = c.client_id == client_id
            || c.ory_client
                .as_ref()
                .is_some_and(|o| o.client_id == client_id);
        (self.fresh(*at) && matches).then(|| c.clone())
    }

    pub fn put_connection(&self, ticket: Ticket, c: &Connection) {
        let Some(mut inner) = self.writable(ticket) else {
            return;
        };
        inner.client_ids.insert(c.client_id.clone(), c.id.clone());
        if let Some(ory) = &c.ory_client {
            inner.client_ids.insert(ory.client_id.clone(), c.id.clone());
        }
        inner
            .connections
            .insert(c.id.clone(), (Instant::now(), c.clone()));
    }

    pub fn product(&self, id: &str) -> Option<Product> {
        let inner = self.readable()?;
        let (at, p) = inner.products.get(id)?;
        self.fresh(*at).then(|| p.clone())
    }

    pub fn put_product(&self, ticket: Ticket, p: &Product) {
        let Some(mut inner) = self.writable(ticket) else {
            return;
        };
        inner
            .products
            .insert(p.id.clone(), (Instant::now(), p.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn product(id: &str) -> Product {
        Product {
            id: id.into(),
            team_id: "t".into(),
            name: "P".into(),
            description: String::new(),
            redirect_urls: vec![],
            default_redirect_url: None,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_write_during_a_read_keeps_the_stale_row_out() {
        let cache = ReadCache::new(Duration::from_secs(60));
        let ticket = cache.ticket();
        cache.invalidate();
        cache.put_product(ticket, &product("p1"));
        assert!(cache.product("p1").is_none());
        let ticket = cache.ticket();
        cache.put_product(ticket, &product("p1"));
        assert!(cache.product("p1").is_some());
        cache.invalidate();
        assert!(cache.product("p1").is_none());
    }

    #[test]
    fn entries_expire_and_zero_ttl_disables() {
        let cache = ReadCache::new(Duration::from_millis(1));
        cache.put_product(cache.ticket(), &product("p1"));
        std::thread::sleep(Duration::from_millis(5));
        assert!(cache.product("p1").is_none());
        let off = ReadCache::new(Duration::ZERO);
        off.put_product(off.ticket(), &product("p1"));
        assert!(off.product("p1").is_none());
    }
}
