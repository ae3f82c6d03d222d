//! Allgather: every rank's value, collected in rank order on every rank.

use bytemuck::Pod;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::collective::broadcast::broadcast_bytes;
use crate::collective::channel::{Channel, Codec, Plain, Serde};
use crate::collective::gather::gather_parts;
use crate::collective::packing::{pack, unpack};
use crate::collective::ring::allgather_ring;
use crate::collective::{
    check_length, copy_bytes_into, ranges_checked, tags, RING_THRESHOLD_BYTES,
};
use crate::communicator::Communicator;
use crate::error::Result;

/// Every rank's part on every rank: binomial gather to rank 0, then binomial
/// broadcast of the packed parts.
fn gather_to_all<C: Codec>(channel: &Channel<C>, mine: Vec<u8>) -> Result<Vec<Vec<u8>>> {
    let gathered = gather_parts(channel, 0, mine)?.map(|parts| pack(&parts));
    unpack(&broadcast_bytes(channel, 0, gathered)?)
}

impl Communicator {
    /// Every rank gets every rank's `value`, in rank order.
    ///
    /// Binomial gather to rank 0, then binomial broadcast: 2⌈log2 n⌉ steps.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let everyone: Vec<(usize, String)> =
    ///     world.allgather(&(world.rank(), world.processor_name().to_string()))?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn allgather<T: Serialize + DeserializeOwned>(&self, value: &T) -> Result<Vec<T>> {
        let channel = Channel::new(self, tags::ALLGATHER, Serde::<T>::new());
        let mine = channel.codec.encode(value)?.into_owned();
        let parts = gather_to_all(&channel, mine)?;
        check_length("allgather result", self.size(), parts.len())?;
        parts
            .iter()
            .map(|part| channel.codec.decode(part))
            .collect()
    }

    /// Every rank's `send` (all of the same length) into every rank's `recv`
    /// (`size() * send.len()` elements), rank 0's first. Algorithm as
    /// [`allgatherv_slice`](Self::allgatherv_slice).
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let mut ranks = vec![0usize; world.size()];
    /// world.allgather_slice(&[world.rank()], &mut ranks)?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn allgather_slice<T: Pod>(&self, send: &[T], recv: &mut [T]) -> Result<()> {
        let counts = vec![send.len(); self.size()];
        check_length(
            "allgather_slice receive buffer",
            counts.len() * send.len(),
            recv.len(),
        )?;
        self.allgatherv_slice(send, recv, &counts)
    }

    /// Like [`allgather_slice`](Self::allgather_slice), but rank i sends
    /// `counts[i]` elements (every rank passes the same `counts`); rank i's
    /// elements follow those of ranks 0..i in `recv`.
    ///
    /// Small totals (under 64 KiB): binomial gather then broadcast,
    /// 2⌈log2 n⌉ steps. Large: ring, n−1 steps each passing one rank's block on.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let counts: Vec<usize> = (0..world.size()).map(|r| r + 1).collect();
    /// let mut all = vec![0i32; counts.iter().sum()];
    /// world.allgatherv_slice(&vec![world.rank() as i32; world.rank() + 1], &mut all, &counts)?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn allgatherv_slice<T: Pod>(
        &self,
        send: &[T],
        recv: &mut [T],
        counts: &[usize],
    ) -> Result<()> {
        let ranges = ranges_checked("allgatherv_slice", counts, self.size(), recv.len())?;
        let mine = ranges[self.rank()].clone();
        check_length(
            "allgatherv_slice send buffer (counts[rank])",
            mine.len(),
            send.len(),
        )?;
        let channel = Channel::new(self, tags::ALLGATHER, Plain::<T>::new());
        let total = ranges.last().map_or(0, |range| range.end);
        if total * std::mem::size_of::<T>() >= RING_THRESHOLD_BYTES {
            recv[mine].copy_from_slice(send);
            return allgather_ring(&channel, recv, &ranges);
        }
        let parts = gather_to_all(&channel, bytemuck::cast_slice(send).to_vec())?;
        check_length("allgatherv_slice parts", ranges.len(), parts.len())?;
        for (range, part) in ranges.into_iter().zip(&parts) {
            copy_bytes_into("allgatherv_slice part of a rank", &mut recv[range], part)?;
        }
        Ok(())
    }
}
