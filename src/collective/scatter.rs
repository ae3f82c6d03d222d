//! Scatter: the root hands each rank its own piece.

use bytemuck::Pod;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::collective::channel::{Channel, Codec, Plain, Serde};
use crate::collective::packing::{pack, unpack};
use crate::collective::tree::BinomialTree;
use crate::collective::{check_length, copy_bytes_into, ranges_checked, root_buffer, tags};
use crate::communicator::Communicator;
use crate::error::{Error, Result};

/// Binomial-tree scatter of one byte string per rank (`Some` at the root, in
/// rank order): each rank receives its whole subtree's parts in one packed
/// message and passes each child its share.
pub(crate) fn scatter_parts<C: Codec>(
    channel: &Channel<C>,
    root: usize,
    parts: Option<Vec<Vec<u8>>>,
) -> Result<Vec<u8>> {
    let tree = BinomialTree::new(channel.size(), channel.rank(), root);
    let subtree = match tree.parent() {
        Some(parent) => unpack(&channel.recv_bytes(parent)?)?,
        None => {
            let mut parts = root_buffer(parts, "scatter")?;
            check_length(
                "the parts to scatter (one per rank)",
                channel.size(),
                parts.len(),
            )?;
            // Into relative order: relative rank i is rank (i + root) mod n.
            parts.rotate_left(root);
            parts
        }
    };
    let start = tree.relative();
    check_length(
        "the scattered parts of a subtree",
        tree.subtree().len(),
        subtree.len(),
    )?;
    for child in tree.children().iter().rev() {
        let share = &subtree[child.subtree.start - start..child.subtree.end - start];
        channel.send_bytes(child.rank, &pack(share))?;
    }
    subtree
        .into_iter()
        .next()
        .ok_or_else(|| Error::InvalidArgument("scatter: this rank received no part".to_string()))
}

impl Communicator {
    /// The root passes `Some(values)` with one value per rank; rank i gets
    /// `values[i]` (the others pass `None`).
    ///
    /// Binomial tree: ⌈log2 n⌉ steps, each rank receiving its subtree's
    /// values in one message.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let tasks: Vec<String> = (0..world.size()).map(|i| format!("task {i}")).collect();
    /// let is_root = world.rank() == 0;
    /// let mine: String = world.scatter(is_root.then_some(&tasks[..]), 0)?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn scatter<T: Serialize + DeserializeOwned>(
        &self,
        values: Option<&[T]>,
        root: usize,
    ) -> Result<T> {
        self.check_root(root)?;
        let channel = Channel::new(self, tags::SCATTER, Serde::<T>::new());
        let parts = match self.rank() == root {
            true => Some(
                root_buffer(values, "scatter")?
                    .iter()
                    .map(|value| channel.codec.encode(value).map(|bytes| bytes.into_owned()))
                    .collect::<Result<Vec<_>>>()?,
            ),
            false => None,
        };
        channel.codec.decode(&scatter_parts(&channel, root, parts)?)
    }

    /// The root's `send` (`Some` at the root, `size() * recv.len()` elements)
    /// is cut into equal pieces; rank i gets piece i in `recv`. Every rank
    /// passes a `recv` of the same length. Binomial tree, as [`scatter`](Self::scatter).
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let data: Vec<f64> = (0..4 * world.size()).map(|i| i as f64).collect();
    /// let mut mine = [0.0; 4];
    /// let is_root = world.rank() == 0;
    /// world.scatter_slice(is_root.then_some(&data[..]), &mut mine, 0)?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn scatter_slice<T: Pod>(
        &self,
        send: Option<&[T]>,
        recv: &mut [T],
        root: usize,
    ) -> Result<()> {
        let counts = vec![recv.len(); self.size()];
        if let Some(send) = send {
            check_length(
                "scatter_slice send buffer",
                counts.len() * recv.len(),
                send.len(),
            )?;
        }
        let expected = recv.len();
        let received = self.scatterv_slice(send.map(|send| (send, &counts[..])), recv, root)?;
        check_length("scatter_slice piece of this rank", expected, received)
    }

    /// Like [`scatter_slice`](Self::scatter_slice), but rank i gets
    /// `counts[i]` elements: the root passes `Some((send, counts))`, and the
    /// pieces lie one after the other in `send`. Returns how many elements
    /// this rank received into the front of `recv`.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let counts: Vec<usize> = (1..=world.size()).collect();
    /// let data = vec![7u16; counts.iter().sum()];
    /// let mut mine = vec![0u16; world.size()];
    /// let is_root = world.rank() == 0;
    /// let n = world.scatterv_slice(is_root.then_some((&data[..], &counts[..])), &mut mine, 0)?;
    /// assert_eq!(n, world.rank() + 1);
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn scatterv_slice<T: Pod>(
        &self,
        send: Option<(&[T], &[usize])>,
        recv: &mut [T],
        root: usize,
    ) -> Result<usize> {
        self.check_root(root)?;
        let parts = match self.rank() == root {
            true => {
                let (data, counts) = root_buffer(send, "scatterv_slice")?;
                let ranges = ranges_checked("scatterv_slice", counts, self.size(), data.len())?;
                Some(
                    ranges
                        .into_iter()
                        .map(|range| bytemuck::cast_slice(&data[range]).to_vec())
                        .collect(),
                )
            }
            false => None,
        };
        let channel = Channel::new(self, tags::SCATTER, Plain::<T>::new());
        let part = scatter_parts(&channel, root, parts)?;
        let count = part.len() / std::mem::size_of::<T>().max(1);
        if count > recv.len() {
            return Err(Error::InvalidArgument(format!(
                "scatterv_slice: rank {} gets {count} elements but its receive buffer holds only {}: pass a larger buffer",
                self.rank(),
                recv.len()
            )));
        }
        copy_bytes_into("scatterv_slice piece", &mut recv[..count], &part)?;
        Ok(count)
    }
}
