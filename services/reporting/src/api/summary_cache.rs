//! The last summary computed for each query, with the read model's checkpoint it was
//! computed at. A summary is a pure function of the read model, the query and the settings,
//! and the projection moves its stored checkpoint in the same transaction as the rows it
//! changes, so while the checkpoint has not moved the summary is still exactly right: a
//! dashboard read while nothing changes costs one small query instead of reading every
//! journey of the area.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Summary;

/// What identifies a summary: the area and the query's months as given.
pub type Key = (String, Option<String>, Option<String>);

/// A kept summary and the checkpoint it was computed at.
type Kept = (u64, Arc<Summary>);

/// Most summaries kept (one per area and period asked for); past it the cache starts over.
const CAPACITY: usize = 256;

/// Summaries by query, each with the checkpoint it was computed at. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct SummaryCache {
    entries: Arc<Mutex<HashMap<Key, Kept>>>,
}

impl SummaryCache {
    /// The summary of `key` and the checkpoint it was computed at, if one is kept.
    pub fn get(&self, key: &Key) -> Option<Kept> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).cloned()
    }

    /// Keeps `summary`, computed at `sequence`, for `key`.
    pub fn put(&self, key: Key, sequence: u64, summary: Arc<Summary>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (sequence, summary));
    }
}
