//! mpbot: a framework for MPChat bots.
//!
//! This crate is the facade bot authors import. For now it holds [`config`]: the TOML file that
//! picks the update source (`delivery.mode = "polling"` in development, `"webhook"` in
//! production) and everything else the bot needs to start.

pub mod config;
