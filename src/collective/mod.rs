//! Collective operations: every rank of a communicator calls the same one.
//!
//! Collectives travel on the communicator's collective context, so they never
//! match user messages, and each operation has its own tag so ranks that call
//! different collectives get an error instead of swapping data. All ranks must
//! call collectives in the same order, as in MPI.

mod barrier;
mod broadcast;
mod reduce;

/// Tags of collective operations on the collective context.
pub(crate) mod tags {
    pub const BARRIER: u32 = 1;
    pub const BROADCAST: u32 = 2;
    pub const REDUCE: u32 = 3;
}
