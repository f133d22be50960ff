//! The journal against real SQLite files: durability before acceptance, replay order, dedup
//! across restarts, compaction, damaged files, a full disk, and group commit. One binary, to
//! save link time.

mod common;

mod dispatcher;
mod failures;
mod group_commit;
mod open;
mod replay;
mod store;
