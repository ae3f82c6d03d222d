//! All-to-all: every rank sends a distinct piece to every rank.

use bytemuck::Pod;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::collective::channel::{Channel, Codec, Plain, Serde};
use crate::collective::{check_length, copy_bytes_into, ranges_checked, tags};
use crate::communicator::Communicator;
use crate::error::{Error, Result};

/// Pairwise exchange: in step s (1..n) each rank sends `outgoing[rank + s]`
/// and receives from rank − s, so every step is a permutation and no rank
/// is flooded. `incoming(source, bytes)` takes each received piece.
fn pairwise_exchange<C: Codec>(
    channel: &Channel<C>,
    outgoing: &[&[u8]],
    mut incoming: impl FnMut(usize, &[u8]) -> Result<()>,
) -> Result<()> {
    let (rank, size) = (channel.rank(), channel.size());
    check_length("the pieces to send (one per rank)", size, outgoing.len())?;
    incoming(rank, outgoing[rank])?;
    for step in 1..size {
        let dest = (rank + step) % size;
        let source = (rank + size - step) % size;
        incoming(
            source,
            &channel.exchange_bytes(dest, outgoing[dest], source)?,
        )?;
    }
    Ok(())
}

impl Communicator {
    /// Rank i sends `values[j]` to rank j and gets back, in rank order, the
    /// value every rank addressed to it. `values` has one value per rank.
    ///
    /// Pairwise exchange: n−1 steps, each a send to one rank and a receive
    /// from another.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let letters: Vec<String> = (0..world.size())
    ///     .map(|to| format!("from {} to {to}", world.rank()))
    ///     .collect();
    /// let mail = world.alltoall(&letters)?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn alltoall<T: Serialize + DeserializeOwned>(&self, values: &[T]) -> Result<Vec<T>> {
        let channel = Channel::new(self, tags::ALLTOALL, Serde::<T>::new());
        let encoded = values
            .iter()
            .map(|value| channel.codec.encode(value))
            .collect::<Result<Vec<_>>>()?;
        let outgoing: Vec<&[u8]> = encoded.iter().map(|bytes| bytes.as_ref()).collect();
        let mut received: Vec<Option<T>> = (0..self.size()).map(|_| None).collect();
        pairwise_exchange(&channel, &outgoing, |source, bytes| {
            received[source] = Some(channel.codec.decode(bytes)?);
            Ok(())
        })?;
        received
            .into_iter()
            .map(|value| {
                value.ok_or_else(|| {
                    Error::InvalidArgument("alltoall: a rank sent nothing".to_string())
                })
            })
            .collect()
    }

    /// `send` and `recv` hold `size()` equal blocks; block j of `send` goes
    /// to rank j, and block i of `recv` comes from rank i. Pairwise exchange,
    /// as [`alltoall`](Self::alltoall).
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let send: Vec<u32> = (0..world.size() as u32).collect();
    /// let mut recv = vec![0u32; world.size()];
    /// world.alltoall_slice(&send, &mut recv)?;
    /// assert!(recv.iter().all(|&x| x == world.rank() as u32));
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn alltoall_slice<T: Pod>(&self, send: &[T], recv: &mut [T]) -> Result<()> {
        let size = self.size();
        check_length("alltoall_slice receive buffer", send.len(), recv.len())?;
        if send.len() % size != 0 {
            return Err(Error::InvalidArgument(format!(
                "alltoall_slice: {} elements cannot be cut into {size} equal blocks; use alltoallv_slice",
                send.len()
            )));
        }
        let counts = vec![send.len() / size; size];
        self.alltoallv_slice(send, &counts, recv, &counts)
    }

    /// Rank i sends `send_counts[j]` elements to rank j (blocks one after
    /// the other in `send`) and receives `recv_counts[j]` elements from rank
    /// j into `recv`. Pairwise exchange, as [`alltoall`](Self::alltoall).
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let n = world.size();
    /// // Send j+1 copies of my rank to rank j.
    /// let send_counts: Vec<usize> = (1..=n).collect();
    /// let send: Vec<usize> = send_counts.iter().flat_map(|&c| vec![world.rank(); c]).collect();
    /// let recv_counts = vec![world.rank() + 1; n];
    /// let mut recv = vec![0usize; n * (world.rank() + 1)];
    /// world.alltoallv_slice(&send, &send_counts, &mut recv, &recv_counts)?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn alltoallv_slice<T: Pod>(
        &self,
        send: &[T],
        send_counts: &[usize],
        recv: &mut [T],
        recv_counts: &[usize],
    ) -> Result<()> {
        let size = self.size();
        let send_ranges = ranges_checked("alltoallv_slice send", send_counts, size, send.len())?;
        let recv_ranges = ranges_checked("alltoallv_slice receive", recv_counts, size, recv.len())?;
        let outgoing: Vec<&[u8]> = send_ranges
            .into_iter()
            .map(|range| bytemuck::cast_slice(&send[range]))
            .collect();
        let channel = Channel::new(self, tags::ALLTOALL, Plain::<T>::new());
        pairwise_exchange(&channel, &outgoing, |source, bytes| {
            copy_bytes_into(
                "alltoallv_slice block (recv_counts[source])",
                &mut recv[recv_ranges[source].clone()],
                bytes,
            )
        })
    }
}
