//! Allreduce: combine one value from every rank and give the result to all.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::collective::channel::{Channel, Codec, Plain, Serde};
use crate::collective::ring::{allgather_ring, even_ranges, reduce_scatter_ring};
use crate::collective::{check_length, copy_checked, slice_combiner, tags, RING_THRESHOLD_BYTES};
use crate::communicator::Communicator;
use crate::error::Result;
use crate::ops::{check_supported, Op, Reducible};

/// Recursive doubling: in round k every rank swaps its running combination
/// with the rank 2^k away, so after ⌈log2 n⌉ rounds all have the total. When
/// n is not a power of two, the first 2·(n − 2^⌊log2 n⌋) ranks first pair up
/// (the even one hands its value to the odd one and gets the total back at
/// the end). Blocks stay contiguous and the lower block is always on the
/// left, so values combine in rank order and every rank computes the very
/// same combinations: results are bit-identical everywhere.
fn allreduce_values<C: Codec>(
    channel: &Channel<C>,
    value: C::Value,
    mut combine: impl FnMut(C::Value, C::Value) -> Result<C::Value>,
) -> Result<C::Value> {
    let (rank, size) = (channel.rank(), channel.size());
    let power_of_two = 1 << (usize::BITS - 1 - size.leading_zeros());
    let paired = 2 * (size - power_of_two);
    let mut value = value;
    let position = if rank >= paired {
        rank - paired / 2
    } else if rank % 2 == 0 {
        channel.send(rank + 1, &value)?;
        return channel.recv(rank + 1);
    } else {
        value = combine(channel.recv(rank - 1)?, value)?;
        rank / 2
    };
    // The rank holding position `p` in the power-of-two exchange.
    let holder = |p: usize| {
        if p < paired / 2 {
            2 * p + 1
        } else {
            p + paired / 2
        }
    };
    let mut mask = 1;
    while mask < power_of_two {
        let partner = position ^ mask;
        let theirs = channel.exchange(holder(partner), &value, holder(partner))?;
        value = match partner < position {
            true => combine(theirs, value)?,
            false => combine(value, theirs)?,
        };
        mask <<= 1;
    }
    if rank < paired {
        channel.send(rank - 1, &value)?;
    }
    Ok(value)
}

impl Communicator {
    /// Combines every rank's `value` with `op` and returns the result on
    /// every rank. `op` must be associative; values are combined in rank order.
    ///
    /// Recursive doubling: ⌈log2 n⌉ rounds of pairwise exchange, 2 more when
    /// n is not a power of two. Every rank gets bit-identical results.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let longest = world.allreduce(format!("rank{}", world.rank()), |a, b| {
    ///     if b.len() > a.len() { b } else { a }
    /// })?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn allreduce<T, F>(&self, value: T, op: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: Fn(T, T) -> T,
    {
        let channel = Channel::new(self, tags::ALLREDUCE, Serde::<T>::new());
        allreduce_values(&channel, value, |a, b| Ok(op(a, b)))
    }

    /// Combines every rank's `send` element by element with `op` into every
    /// rank's `recv`; all slices must have the same length. Every rank gets
    /// bit-identical results.
    ///
    /// Small slices (under 64 KiB, or fewer elements than ranks): recursive
    /// doubling, as [`allreduce`](Self::allreduce). Large slices: ring
    /// reduce-scatter then ring allgather (as Rabenseifner's algorithm, each
    /// rank sends and receives only about 2× the slice, whatever n is).
    ///
    /// ```no_run
    /// use bramble::Op;
    /// let world = bramble::init()?;
    /// let mut global = [0u64; 2];
    /// world.allreduce_slice(&[1, world.rank() as u64], &mut global, Op::Sum)?;
    /// assert_eq!(global[0], world.size() as u64);
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn allreduce_slice<T: Reducible>(&self, send: &[T], recv: &mut [T], op: Op) -> Result<()> {
        check_supported::<T>(op)?;
        check_length("allreduce_slice receive buffer", send.len(), recv.len())?;
        let channel = Channel::new(self, tags::ALLREDUCE, Plain::<T>::new());
        let size = self.size();
        if std::mem::size_of_val(send) >= RING_THRESHOLD_BYTES && send.len() >= size {
            recv.copy_from_slice(send);
            let blocks = even_ranges(send.len(), size);
            reduce_scatter_ring(&channel, recv, &blocks, op)?;
            return allgather_ring(&channel, recv, &blocks);
        }
        let result = allreduce_values(&channel, send.to_vec(), slice_combiner::<T>(op))?;
        copy_checked("allreduce_slice result", recv, &result)
    }
}
