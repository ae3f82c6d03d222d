//! Scan and exscan: each rank gets the combination of the values of the ranks
//! up to itself (inclusive or exclusive), as running totals.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::collective::channel::{Channel, Codec, Plain, Serde};
use crate::collective::{check_length, copy_checked, slice_combiner, tags};
use crate::communicator::Communicator;
use crate::error::Result;
use crate::ops::{check_supported, Op, Reducible};

/// Recursive doubling: in round k a rank swaps its running block total with
/// the rank 2^k away; ⌈log2 n⌉ rounds. Returns the combination of the
/// values of all lower ranks (`None` on rank 0), in rank order.
fn exclusive_prefix<C: Codec>(
    channel: &Channel<C>,
    own: &[u8],
    combine: &mut impl FnMut(C::Value, C::Value) -> Result<C::Value>,
) -> Result<Option<C::Value>> {
    let (rank, size) = (channel.rank(), channel.size());
    let codec = &channel.codec;
    // The combination of the block of 2^k ranks this rank belongs to.
    let mut block_total = own.to_vec();
    let mut prefix: Option<C::Value> = None;
    let mut mask = 1;
    while mask < size {
        let partner = rank ^ mask;
        if partner < size {
            let theirs = channel.exchange_bytes(partner, &block_total, partner)?;
            let combined = if partner < rank {
                prefix = Some(match prefix {
                    None => codec.decode(&theirs)?,
                    Some(prefix) => combine(codec.decode(&theirs)?, prefix)?,
                });
                combine(codec.decode(&theirs)?, codec.decode(&block_total)?)?
            } else {
                combine(codec.decode(&block_total)?, codec.decode(&theirs)?)?
            };
            block_total = codec.encode(&combined)?.into_owned();
        }
        mask <<= 1;
    }
    Ok(prefix)
}

/// Inclusive scan: the exclusive prefix combined with this rank's own value.
fn inclusive_prefix<C: Codec>(
    channel: &Channel<C>,
    own: C::Value,
    mut combine: impl FnMut(C::Value, C::Value) -> Result<C::Value>,
) -> Result<C::Value> {
    let own_bytes = channel.codec.encode(&own)?.into_owned();
    match exclusive_prefix(channel, &own_bytes, &mut combine)? {
        Some(prefix) => combine(prefix, own),
        None => Ok(own),
    }
}

impl Communicator {
    /// Rank r gets `op(v0, op(v1, ... vr))`: the running combination of the
    /// values of ranks 0..=r (MPI_Scan). `op` must be associative; values are
    /// combined in rank order.
    ///
    /// Recursive doubling: ⌈log2 n⌉ rounds of pairwise exchange.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let running_total = world.scan(world.rank() as u64 + 1, |a, b| a + b)?;
    /// assert_eq!(running_total, (1..=world.rank() as u64 + 1).sum());
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn scan<T, F>(&self, value: T, op: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: Fn(T, T) -> T,
    {
        let channel = Channel::new(self, tags::SCAN, Serde::<T>::new());
        inclusive_prefix(&channel, value, |a, b| Ok(op(a, b)))
    }

    /// Rank r > 0 gets `Some` of the combination of the values of ranks
    /// 0..r; rank 0 gets `None` (MPI_Exscan). Recursive doubling, as [`scan`](Self::scan).
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// // Where this rank's items start in a global numbering.
    /// let my_items = 10 + world.rank() as u64;
    /// let offset = world.exscan(my_items, |a, b| a + b)?.unwrap_or(0);
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn exscan<T, F>(&self, value: T, op: F) -> Result<Option<T>>
    where
        T: Serialize + DeserializeOwned,
        F: Fn(T, T) -> T,
    {
        let channel = Channel::new(self, tags::EXSCAN, Serde::<T>::new());
        let own = channel.codec.encode(&value)?;
        exclusive_prefix(&channel, &own, &mut |a, b| Ok(op(a, b)))
    }

    /// Element-by-element inclusive scan of slices with a built-in op:
    /// `recv` on rank r gets `op` over `send` of ranks 0..=r. Recursive
    /// doubling, as [`scan`](Self::scan).
    ///
    /// ```no_run
    /// use bramble::Op;
    /// let world = bramble::init()?;
    /// let mut running = [0i64; 1];
    /// world.scan_slice(&[world.rank() as i64], &mut running, Op::Sum)?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn scan_slice<T: Reducible>(&self, send: &[T], recv: &mut [T], op: Op) -> Result<()> {
        check_supported::<T>(op)?;
        check_length("scan_slice receive buffer", send.len(), recv.len())?;
        let channel = Channel::new(self, tags::SCAN, Plain::<T>::new());
        let result = inclusive_prefix(&channel, send.to_vec(), slice_combiner::<T>(op))?;
        copy_checked("scan_slice result", recv, &result)
    }

    /// Element-by-element exclusive scan of slices: `recv` on rank r > 0 gets
    /// `op` over `send` of ranks 0..r and the call returns `true`; on rank 0
    /// `recv` is left as it is and the call returns `false`. Recursive
    /// doubling, as [`scan`](Self::scan).
    ///
    /// ```no_run
    /// use bramble::Op;
    /// let world = bramble::init()?;
    /// let mut before_me = [0u32; 1];
    /// world.exscan_slice(&[5], &mut before_me, Op::Sum)?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn exscan_slice<T: Reducible>(&self, send: &[T], recv: &mut [T], op: Op) -> Result<bool> {
        check_supported::<T>(op)?;
        check_length("exscan_slice receive buffer", send.len(), recv.len())?;
        let mut combine = slice_combiner::<T>(op);
        let channel = Channel::new(self, tags::EXSCAN, Plain::<T>::new());
        match exclusive_prefix(&channel, bytemuck::cast_slice(send), &mut combine)? {
            Some(prefix) => {
                copy_checked("exscan_slice result", recv, &prefix)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
