//! Ring algorithms for large slices: each of n−1 steps moves one block to the
//! next rank while receiving one from the previous, so every link carries
//! about (n−1)/n of the data once, whatever n is (no power of two needed).

use std::ops::Range;

use bytemuck::Pod;

use crate::collective::channel::{Channel, Plain};
use crate::error::Result;
use crate::ops::{combine_slices, Op, Reducible};

/// Consecutive ranges holding `counts[i]` elements each.
pub(crate) fn ranges_from_counts(counts: &[usize]) -> Vec<Range<usize>> {
    let mut start = 0;
    counts
        .iter()
        .map(|&count| {
            let range = start..start + count;
            start += count;
            range
        })
        .collect()
}

/// `len` elements split into `parts` ranges whose sizes differ by at most one.
pub(crate) fn even_ranges(len: usize, parts: usize) -> Vec<Range<usize>> {
    (0..parts)
        .map(|i| i * len / parts..(i + 1) * len / parts)
        .collect()
}

fn neighbours(rank: usize, size: usize) -> (usize, usize) {
    ((rank + 1) % size, (rank + size - 1) % size)
}

/// Ring reduce-scatter: afterwards block `blocks[rank]` of `data` holds the
/// combination of every rank's block (`op` must be commutative, as built-in ops are).
pub(crate) fn reduce_scatter_ring<T: Reducible>(
    channel: &Channel<Plain<T>>,
    data: &mut [T],
    blocks: &[Range<usize>],
    op: Op,
) -> Result<()> {
    let (rank, size) = (channel.rank(), channel.size());
    let (next, previous) = neighbours(rank, size);
    let largest = blocks.iter().map(|b| b.len()).max().unwrap_or(0);
    // Received blocks land here, in memory reused from call to call: fresh
    // large buffers cost more in page faults than the copy itself.
    let mut scratch = channel.scratch(largest * std::mem::size_of::<T>());
    for step in 0..size.saturating_sub(1) {
        let outgoing = &blocks[(rank + 2 * size - step - 1) % size];
        let incoming = &blocks[(rank + 2 * size - step - 2) % size];
        let received: &mut [T] = scratch.as_slice_of(incoming.len())?;
        channel.exchange_into(
            next,
            bytemuck::cast_slice(&data[outgoing.clone()]),
            previous,
            bytemuck::cast_slice_mut(received),
        )?;
        combine_slices(op, &mut data[incoming.clone()], received);
    }
    Ok(())
}

/// Ring allgather: block `blocks[rank]` of `data` is this rank's; afterwards
/// every block holds its owner's.
pub(crate) fn allgather_ring<T: Pod>(
    channel: &Channel<Plain<T>>,
    data: &mut [T],
    blocks: &[Range<usize>],
) -> Result<()> {
    let (rank, size) = (channel.rank(), channel.size());
    let (next, previous) = neighbours(rank, size);
    for step in 0..size.saturating_sub(1) {
        let outgoing = blocks[(rank + size - step) % size].clone();
        let incoming = blocks[(rank + 2 * size - step - 1) % size].clone();
        let (source, target) = disjoint(data, outgoing, incoming);
        channel.exchange_into(
            next,
            bytemuck::cast_slice(source),
            previous,
            bytemuck::cast_slice_mut(target),
        )?;
    }
    Ok(())
}

/// `data[read]` to read and `data[write]` to write, two ranges that do not overlap.
fn disjoint<T>(data: &mut [T], read: Range<usize>, write: Range<usize>) -> (&[T], &mut [T]) {
    if read.start < write.start {
        let (low, high) = data.split_at_mut(write.start);
        (&low[read], &mut high[..write.len()])
    } else {
        let (low, high) = data.split_at_mut(read.start);
        (&high[..read.len()], &mut low[write])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_tile_the_slice() {
        assert_eq!(ranges_from_counts(&[2, 0, 3]), vec![0..2, 2..2, 2..5]);
        assert_eq!(even_ranges(10, 4), vec![0..2, 2..5, 5..7, 7..10]);
        assert_eq!(even_ranges(2, 3), vec![0..0, 0..1, 1..2]);
    }

    /// Runs the ring schedules on a simulated ring and checks that every
    /// block is combined from every rank exactly once and ends at its owner.
    #[test]
    fn reduce_scatter_schedule_reaches_every_owner() {
        for size in 1..=9usize {
            // contributions[rank][block]: which ranks' inputs are summed in.
            let mut contributions: Vec<Vec<Vec<usize>>> = (0..size)
                .map(|rank| (0..size).map(|_| vec![rank]).collect())
                .collect();
            for step in 0..size.saturating_sub(1) {
                let sent: Vec<(usize, Vec<usize>)> = (0..size)
                    .map(|rank| {
                        let block = (rank + 2 * size - step - 1) % size;
                        (block, contributions[rank][block].clone())
                    })
                    .collect();
                for (rank, blocks) in contributions.iter_mut().enumerate() {
                    let previous = (rank + size - 1) % size;
                    let block = (rank + 2 * size - step - 2) % size;
                    assert_eq!(sent[previous].0, block);
                    blocks[block].extend(&sent[previous].1);
                }
            }
            for (rank, blocks) in contributions.iter().enumerate() {
                let mut owners = blocks[rank].clone();
                owners.sort();
                assert_eq!(owners, (0..size).collect::<Vec<_>>(), "size {size}");
            }
        }
    }
}
