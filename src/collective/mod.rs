//! Collective operations: every rank of a communicator calls the same one.
//!
//! Collectives travel on the communicator's collective context, so they never
//! match user messages, and each operation has its own tag so ranks that call
//! different collectives get an error instead of swapping data. All ranks must
//! call collectives in the same order, as in MPI.
//!
//! Each operation comes in two flavours, like mpi4py: serde values combined by
//! closures (`reduce`, `gather`, ...), and slices of plain data combined by a
//! built-in [`Op`](crate::Op) (`reduce_slice`, `gather_slice`, ...). Both run
//! the same algorithms, written once over a [`Codec`](channel::Codec).

mod allgather;
mod allreduce;
mod alltoall;
mod barrier;
mod broadcast;
mod channel;
mod gather;
mod packing;
mod reduce;
mod reduce_scatter;
mod ring;
mod scan;
mod scatter;
mod scratch;
mod tree;

use crate::communicator::Communicator;
use crate::error::{Error, Result};
use crate::ops::{combine_slices, Op, Reducible};

/// Tags of collective operations on the collective context.
pub(crate) mod tags {
    pub const BARRIER: u32 = 1;
    pub const BROADCAST: u32 = 2;
    pub const REDUCE: u32 = 3;
    pub const ALLREDUCE: u32 = 4;
    pub const SCATTER: u32 = 5;
    pub const GATHER: u32 = 6;
    pub const ALLGATHER: u32 = 7;
    pub const ALLTOALL: u32 = 8;
    pub const REDUCE_SCATTER: u32 = 9;
    pub const SCAN: u32 = 10;
    pub const EXSCAN: u32 = 11;
}

/// Slices at least this large (and with at least one element per rank) use
/// the bandwidth-optimal ring algorithms instead of binomial trees.
pub(crate) const RING_THRESHOLD_BYTES: usize = 64 * 1024;

impl Communicator {
    /// Fails unless `root` is a rank of this communicator.
    pub(crate) fn check_root(&self, root: usize) -> Result<()> {
        self.world_rank(root).map(|_| ())
    }
}

/// The combining step of slice reductions: `op` element by element, checking
/// that both ranks passed slices of the same length. The caller has checked
/// that `T` supports `op` (before sending anything).
pub(crate) fn slice_combiner<T: Reducible>(op: Op) -> impl FnMut(Vec<T>, Vec<T>) -> Result<Vec<T>> {
    move |mut accumulated: Vec<T>, later: Vec<T>| {
        check_length(
            "reduction input of another rank",
            accumulated.len(),
            later.len(),
        )?;
        combine_slices(op, &mut accumulated, &later);
        Ok(accumulated)
    }
}

/// An error unless `actual == expected`, naming `what` had the wrong length.
pub(crate) fn check_length(what: &str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "{what} has {actual} elements where {expected} were expected: check the lengths and counts passed on every rank"
    )))
}

/// The root-only buffer of a rooted collective, or an error at the root.
pub(crate) fn root_buffer<B>(buffer: Option<B>, operation: &str) -> Result<B> {
    buffer.ok_or_else(|| {
        Error::InvalidArgument(format!(
            "the root of {operation} must pass Some(buffer); other ranks may pass None"
        ))
    })
}

/// Copies `source` into `target`, or an error naming `what` if their lengths differ.
pub(crate) fn copy_checked<T: Copy>(what: &str, target: &mut [T], source: &[T]) -> Result<()> {
    check_length(what, target.len(), source.len())?;
    target.copy_from_slice(source);
    Ok(())
}

/// Copies received bytes into a slice of plain data, or an error naming
/// `what` if the sizes differ.
pub(crate) fn copy_bytes_into<T: bytemuck::Pod>(
    what: &str,
    target: &mut [T],
    bytes: &[u8],
) -> Result<()> {
    copy_checked(what, bytemuck::cast_slice_mut::<T, u8>(target), bytes)
}

/// Checks per-rank counts against the communicator size and the buffer they
/// describe, and returns each rank's range in the buffer.
pub(crate) fn ranges_checked(
    what: &str,
    counts: &[usize],
    size: usize,
    buffer_len: usize,
) -> Result<Vec<std::ops::Range<usize>>> {
    check_length(
        &format!("the counts of {what} (one per rank)"),
        size,
        counts.len(),
    )?;
    let ranges = ring::ranges_from_counts(counts);
    let total = ranges.last().map_or(0, |range| range.end);
    if total > buffer_len {
        return Err(Error::InvalidArgument(format!(
            "the counts of {what} add up to {total} elements but the buffer holds only {buffer_len}: pass a larger buffer or smaller counts"
        )));
    }
    Ok(ranges)
}
