//! The window of recently seen update ids.

use std::collections::{HashSet, VecDeque};

use mpbot_api::UpdateId;

/// Remembers the last `capacity` update ids, forgetting the oldest first.
#[derive(Debug)]
pub(super) struct Dedup {
    /// For lookups.
    seen: HashSet<UpdateId>,
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
            seen: HashSet::new(),
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

    /// Pins that a zero window remembers nothing.
    #[test]
    fn zero_window_is_off() {
        let mut dedup = Dedup::new(0);
        dedup.insert(UpdateId(1));
        assert!(!dedup.contains(UpdateId(1)));
    }
}
