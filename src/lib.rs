//! Bramble.
