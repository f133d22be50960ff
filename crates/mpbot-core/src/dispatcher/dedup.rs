//! The window of recently seen update ids.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use mpbot_api::UpdateId;

/// A fast hasher for the integer ids MPChat assigns (update, chat): a multiply and a fold.
///
/// NB: not DoS-resistant like the std hasher. Ids are chosen by MPChat, not by users, and the
/// dispatcher hashes several per update, so speed wins here.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, value: u64) {
        let mixed = (self.0 ^ value).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = mixed ^ (mixed >> 29);
    }

    fn write_i64(&mut self, value: i64) {
        self.write_u64(value.cast_unsigned());
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`IdHasher`]s.
pub(super) type IdHash = BuildHasherDefault<IdHasher>;

/// Remembers the last `capacity` update ids, forgetting the oldest first.
#[derive(Debug)]
pub(super) struct Dedup {
    /// For lookups.
    seen: HashSet<UpdateId, IdHash>,
    /// Insertion order, to forget the oldest.
    order: VecDeque<UpdateId>,
    /// How many ids are remembered; 0 remembers none.
    capacity: usize,
}

impl Dedup {
    /// A window of `capacity` ids.
    pub(super) fn new(capacity: usize) -> Self {
        // NB: allocate lazily; a large window costs memory only once it fills.
        Self {
            seen: HashSet::default(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Whether `id` is in the window.
    pub(super) fn contains(&self, id: UpdateId) -> bool {
        self.seen.contains(&id)
    }

    /// Remembers `id`, forgetting the oldest id when the window is full.
    pub(super) fn insert(&mut self, id: UpdateId) {
        if self.capacity == 0 || !self.seen.insert(id) {
            return;
        }
        self.order.push_back(id);
        if self.order.len() > self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the window: the last `capacity` ids are remembered, older ones forgotten.
    #[test]
    fn window_forgets_oldest_first() {
        let mut dedup = Dedup::new(3);
        for id in 1..=4 {
            dedup.insert(UpdateId(id));
        }
        let remembered: Vec<_> = (1..=4).map(|id| dedup.contains(UpdateId(id))).collect();
        assert_eq!(remembered, [false, true, true, true]);
        dedup.insert(UpdateId(3));
        dedup.insert(UpdateId(5));
        assert!(!dedup.contains(UpdateId(2)) && dedup.contains(UpdateId(3)));
        assert_eq!(dedup.order.len(), 3);
    }

    /// Pins that the id hasher spreads sequential and negative ids apart.
    #[test]
    fn id_hasher_separates_ids() {
        use std::hash::BuildHasher;
        let hashes: HashSet<u64> = (-500..500)
            .map(|id| IdHash::default().hash_one(id))
            .collect();
        assert_eq!(hashes.len(), 1000);
    }

    /// Pins that a zero window remembers nothing.
    #[test]
    fn zero_window_is_off() {
        let mut dedup = Dedup::new(0);
        dedup.insert(UpdateId(1));
        assert!(!dedup.contains(UpdateId(1)));
    }
}
