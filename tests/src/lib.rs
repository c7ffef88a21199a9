//! Multi-node and end-to-end tests of the `lantern` binary; see `tests/`.
