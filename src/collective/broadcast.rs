//! Broadcast: the root's value reaches every rank.

use bytemuck::Pod;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::collective::channel::{Channel, Codec, Plain, Serde};
use crate::collective::tree::BinomialTree;
use crate::collective::{check_length, tags};
use crate::communicator::Communicator;
use crate::error::{Error, Result};

/// Binomial-tree broadcast of the root's bytes; every rank returns them.
/// The root passes `Some`, the others `None`.
pub(crate) fn broadcast_bytes<C: Codec>(
    channel: &Channel<C>,
    root: usize,
    root_bytes: Option<Vec<u8>>,
) -> Result<Vec<u8>> {
    let tree = BinomialTree::new(channel.size(), channel.rank(), root);
    let message = match (tree.parent(), root_bytes) {
        (Some(parent), _) => channel.recv_unchecked(parent)?,
        (None, Some(bytes)) => channel.outgoing(bytes)?,
        (None, None) => {
            return Err(Error::InvalidArgument(
                "the root of a broadcast has nothing to send".to_string(),
            ))
        }
    };
    // Forward the message as it came, and judge its type only afterwards, so
    // that ranks passing another type than the root all get an error instead
    // of leaving their subtree waiting. Largest subtree first: it has the
    // longest way to go.
    for child in tree.children().iter().rev() {
        channel.forward(child.rank, &message)?;
    }
    channel.check_type(&message)?;
    Ok(message.payload)
}

impl Communicator {
    /// Replaces `value` on every rank with the root's.
    ///
    /// Binomial tree: the root's message reaches all n ranks in ⌈log2 n⌉
    /// steps, each rank forwarding the encoded bytes without re-encoding.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let mut n = if world.rank() == 0 { 100 } else { 0 };
    /// world.broadcast(&mut n, 0)?;
    /// assert_eq!(n, 100);
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn broadcast<T: Serialize + DeserializeOwned>(
        &self,
        value: &mut T,
        root: usize,
    ) -> Result<()> {
        self.check_root(root)?;
        let channel = Channel::new(self, tags::BROADCAST, Serde::<T>::new());
        let root_bytes = match self.rank() == root {
            true => Some(channel.codec.encode(value)?.into_owned()),
            false => None,
        };
        let bytes = broadcast_bytes(&channel, root, root_bytes)?;
        if self.rank() != root {
            *value = channel.codec.decode(&bytes)?;
        }
        Ok(())
    }

    /// Copies the root's `data` into `data` on every rank; every rank must
    /// pass a slice of the same length. Binomial tree, as [`broadcast`](Self::broadcast).
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let mut weights = [0.0f32; 3];
    /// if world.rank() == 0 {
    ///     weights = [0.5, 0.25, 0.25];
    /// }
    /// world.broadcast_slice(&mut weights, 0)?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn broadcast_slice<T: Pod>(&self, data: &mut [T], root: usize) -> Result<()> {
        self.check_root(root)?;
        let channel = Channel::new(self, tags::BROADCAST, Plain::<T>::new());
        let is_root = self.rank() == root;
        let root_bytes = is_root.then(|| bytemuck::cast_slice(data).to_vec());
        let bytes = broadcast_bytes(&channel, root, root_bytes)?;
        if !is_root {
            let target: &mut [u8] = bytemuck::cast_slice_mut(data);
            check_length(
                "broadcast_slice buffer (in bytes)",
                bytes.len(),
                target.len(),
            )?;
            target.copy_from_slice(&bytes);
        }
        Ok(())
    }
}
