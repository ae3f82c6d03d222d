//! Gather: every rank's value, collected in rank order at the root.

use bytemuck::Pod;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::collective::channel::{Channel, Codec, Plain, Serde};
use crate::collective::packing::{pack, unpack};
use crate::collective::tree::BinomialTree;
use crate::collective::{check_length, copy_bytes_into, ranges_checked, root_buffer, tags};
use crate::communicator::Communicator;
use crate::error::Result;

/// Binomial-tree gather of one byte string per rank: each rank forwards its
/// whole subtree's parts in one packed message. The root gets them in rank order.
pub(crate) fn gather_parts<C: Codec>(
    channel: &Channel<C>,
    root: usize,
    mine: Vec<u8>,
) -> Result<Option<Vec<Vec<u8>>>> {
    let tree = BinomialTree::new(channel.size(), channel.rank(), root);
    let mut subtree = vec![mine];
    for child in tree.children() {
        let parts = unpack(&channel.recv_bytes(child.rank)?)?;
        check_length(
            "the gathered parts of a subtree",
            child.subtree.len(),
            parts.len(),
        )?;
        subtree.extend(parts);
    }
    match tree.parent() {
        Some(parent) => channel.send_bytes(parent, &pack(&subtree)).map(|()| None),
        None => {
            // Relative rank i is rank (i + root) mod n.
            subtree.rotate_right(root);
            Ok(Some(subtree))
        }
    }
}

impl Communicator {
    /// Collects every rank's `value` at the root, in rank order: the root
    /// gets `Some(values)`, the others `None`.
    ///
    /// Binomial tree: ⌈log2 n⌉ steps, each rank forwarding its subtree's
    /// values in one message.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// if let Some(names) = world.gather(&world.processor_name().to_string(), 0)? {
    ///     println!("hosts: {names:?}");
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn gather<T: Serialize + DeserializeOwned>(
        &self,
        value: &T,
        root: usize,
    ) -> Result<Option<Vec<T>>> {
        self.check_root(root)?;
        let channel = Channel::new(self, tags::GATHER, Serde::<T>::new());
        let mine = channel.codec.encode(value)?.into_owned();
        gather_parts(&channel, root, mine)?
            .map(|parts| {
                parts
                    .iter()
                    .map(|part| channel.codec.decode(part))
                    .collect()
            })
            .transpose()
    }

    /// Collects every rank's `send` slice (all of the same length) into the
    /// root's `recv`, rank 0's first; `recv` is `Some` at the root and holds
    /// `size() * send.len()` elements. Binomial tree, as [`gather`](Self::gather).
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let mut all = vec![0u32; 2 * world.size()];
    /// let is_root = world.rank() == 0;
    /// world.gather_slice(&[world.rank() as u32; 2], is_root.then_some(&mut all[..]), 0)?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn gather_slice<T: Pod>(
        &self,
        send: &[T],
        recv: Option<&mut [T]>,
        root: usize,
    ) -> Result<()> {
        let counts = vec![send.len(); self.size()];
        if let Some(recv) = &recv {
            check_length(
                "gather_slice receive buffer",
                counts.len() * send.len(),
                recv.len(),
            )?;
        }
        self.gatherv_slice(send, recv.map(|recv| (recv, &counts[..])), root)
    }

    /// Like [`gather_slice`](Self::gather_slice), but rank i sends
    /// `counts[i]` elements; the root passes `Some((recv, counts))` and finds
    /// rank i's elements after those of ranks 0..i.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let mine = vec![world.rank() as u8; world.rank()];
    /// let counts: Vec<usize> = (0..world.size()).collect();
    /// let mut all = vec![0u8; counts.iter().sum()];
    /// let is_root = world.rank() == 0;
    /// world.gatherv_slice(&mine, is_root.then_some((&mut all[..], &counts[..])), 0)?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn gatherv_slice<T: Pod>(
        &self,
        send: &[T],
        recv: Option<(&mut [T], &[usize])>,
        root: usize,
    ) -> Result<()> {
        self.check_root(root)?;
        let recv = match self.rank() == root {
            true => {
                let (buffer, counts) = root_buffer(recv, "gatherv_slice")?;
                let ranges = ranges_checked("gatherv_slice", counts, self.size(), buffer.len())?;
                Some((buffer, ranges))
            }
            false => None,
        };
        let channel = Channel::new(self, tags::GATHER, Plain::<T>::new());
        let parts = gather_parts(&channel, root, bytemuck::cast_slice(send).to_vec())?;
        if let (Some((buffer, ranges)), Some(parts)) = (recv, parts) {
            for (range, part) in ranges.into_iter().zip(&parts) {
                copy_bytes_into("gatherv_slice part of a rank", &mut buffer[range], part)?;
            }
        }
        Ok(())
    }
}
