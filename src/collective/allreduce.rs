//! Allreduce: combine one value from every rank and give the result to all.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::collective::broadcast::broadcast_value;
use crate::collective::channel::{Channel, Plain, Serde};
use crate::collective::reduce::reduce_values;
use crate::collective::ring::{allgather_ring, even_ranges, reduce_scatter_ring};
use crate::collective::{check_length, copy_checked, slice_combiner, tags, RING_THRESHOLD_BYTES};
use crate::communicator::Communicator;
use crate::error::Result;
use crate::ops::{check_supported, Op, Reducible};

impl Communicator {
    /// Combines every rank's `value` with `op` and returns the result on
    /// every rank. `op` must be associative; values are combined in rank order.
    ///
    /// Binomial reduce to rank 0, then binomial broadcast: 2⌈log2 n⌉ steps.
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
        let reduced = reduce_values(&channel, 0, value, |a, b| Ok(op(a, b)))?;
        broadcast_value(&channel, 0, reduced)
    }

    /// Combines every rank's `send` element by element with `op` into every
    /// rank's `recv`; all slices must have the same length. Every rank gets
    /// bit-identical results.
    ///
    /// Small slices (under 64 KiB, or fewer elements than ranks): binomial
    /// reduce then broadcast, 2⌈log2 n⌉ steps. Large slices: ring
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
        let reduced = reduce_values(&channel, 0, send.to_vec(), slice_combiner::<T>(op))?;
        let result = broadcast_value(&channel, 0, reduced)?;
        copy_checked("allreduce_slice result", recv, &result)
    }
}
