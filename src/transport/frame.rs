//! The fixed header in front of every message on every transport.

use bytemuck::{Pod, Zeroable};

/// Size of [`Header`] on the wire.
pub(crate) const HEADER_LEN: usize = std::mem::size_of::<Header>();

/// Describes one message. Sent as raw bytes: all ranks of a job run on the
/// same architecture family (little-endian Linux), which `Header::check` guards.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq, Eq)]
pub(crate) struct Header {
    /// Bytes of payload that follow.
    pub len: u64,
    /// Fingerprint of the payload's Rust type, so a receive of the wrong type is an error.
    pub type_tag: u64,
    /// Which communicator (and whether point-to-point or collective traffic).
    pub context: u32,
    /// The user's (or collective's) tag.
    pub tag: u32,
    /// World rank of the sender.
    pub source: u32,
    /// Kind of frame: see the `KIND_*` constants.
    pub kind: u32,
}

/// An ordinary message carrying its payload inline.
pub(crate) const KIND_DATA: u32 = 1;
/// A message whose `len` payload bytes stay in the sender's memory, for the
/// receiver to copy straight out of it (shared memory only): the header is
/// followed by the payload's address, a little-endian `u64`.
pub(crate) const KIND_LENT: u32 = 2;

/// The largest payload we accept from the network, to refuse absurd lengths
/// from a corrupted stream instead of trying to allocate them.
pub(crate) const MAX_PAYLOAD: u64 = 1 << 40;

impl Header {
    /// Validates a header read from `peer`'s connection, which may carry
    /// frames of the given `kinds`.
    pub(crate) fn check(&self, peer: usize, kinds: &[u32]) -> Result<(), String> {
        if !kinds.contains(&self.kind) {
            return Err(format!("unknown frame kind {}", self.kind));
        }
        if self.source as usize != peer {
            return Err(format!(
                "frame claims to come from rank {} on rank {peer}'s connection",
                self.source
            ));
        }
        if self.len > MAX_PAYLOAD {
            return Err(format!("frame announces an absurd {} bytes", self.len));
        }
        Ok(())
    }
}
