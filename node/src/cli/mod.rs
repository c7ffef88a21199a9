//! The `lantern` binary's command groups, one file each; `main.rs` holds the argument types
//! and the dispatch.

pub mod evidence;
pub mod local;
pub mod node;
pub mod patterns;
pub mod redact;
pub mod remote;
pub mod store;
