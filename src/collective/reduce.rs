//! Reduce: combine one value from every rank into one value at the root.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::collective::channel::{Channel, Codec, Plain, Serde};
use crate::collective::tree::BinomialTree;
use crate::collective::{check_length, copy_checked, root_buffer, slice_combiner, tags};
use crate::communicator::Communicator;
use crate::error::Result;
use crate::ops::{check_supported, Op, Reducible};

/// Binomial-tree reduction: each rank combines its subtree's values, nearest
/// child first, so relative ranks are combined in increasing order. The root
/// gets `Some`.
pub(crate) fn reduce_values<C: Codec>(
    channel: &Channel<C>,
    root: usize,
    value: C::Value,
    mut combine: impl FnMut(C::Value, C::Value) -> Result<C::Value>,
) -> Result<Option<C::Value>> {
    let tree = BinomialTree::new(channel.size(), channel.rank(), root);
    let mut accumulated = value;
    for child in tree.children() {
        accumulated = combine(accumulated, channel.recv(child.rank)?)?;
    }
    match tree.parent() {
        Some(parent) => channel.send(parent, &accumulated).map(|()| None),
        None => Ok(Some(accumulated)),
    }
}

impl Communicator {
    /// Combines every rank's `value` with `op`; the root gets `Some(result)`,
    /// the others `None`. `op` must be associative; with a root other than 0
    /// it must also be commutative.
    ///
    /// Binomial tree: ⌈log2 n⌉ rounds, each rank combining what its subtree
    /// sends, lower ranks on the left, so with root 0 the combination order is
    /// rank order.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// let total = world.reduce(world.rank() as u64, 0, |a, b| a + b)?;
    /// if let Some(total) = total {
    ///     println!("sum of ranks: {total}");
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn reduce<T, F>(&self, value: T, root: usize, op: F) -> Result<Option<T>>
    where
        T: Serialize + DeserializeOwned,
        F: Fn(T, T) -> T,
    {
        self.check_root(root)?;
        let channel = Channel::new(self, tags::REDUCE, Serde::<T>::new());
        reduce_values(&channel, root, value, |a, b| Ok(op(a, b)))
    }

    /// Combines every rank's `send` element by element with `op` into the
    /// root's `recv` (`Some` at the root, `None` elsewhere). All slices must
    /// have the same length. Binomial tree, as [`reduce`](Self::reduce).
    ///
    /// ```no_run
    /// use bramble::Op;
    /// let world = bramble::init()?;
    /// let local = [world.rank() as f64, 1.0];
    /// let mut total = [0.0; 2];
    /// let is_root = world.rank() == 0;
    /// world.reduce_slice(&local, is_root.then_some(&mut total[..]), Op::Sum, 0)?;
    /// if is_root {
    ///     println!("{total:?}");
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn reduce_slice<T: Reducible>(
        &self,
        send: &[T],
        recv: Option<&mut [T]>,
        op: Op,
        root: usize,
    ) -> Result<()> {
        self.check_root(root)?;
        check_supported::<T>(op)?;
        let combine = slice_combiner::<T>(op);
        let recv = match self.rank() == root {
            true => Some(root_buffer(recv, "reduce_slice")?),
            false => None,
        };
        if let Some(recv) = &recv {
            check_length("reduce_slice receive buffer", send.len(), recv.len())?;
        }
        let channel = Channel::new(self, tags::REDUCE, Plain::<T>::new());
        let reduced = reduce_values(&channel, root, send.to_vec(), combine)?;
        match (recv, reduced) {
            (Some(recv), Some(reduced)) => copy_checked("reduce_slice result", recv, &reduced),
            _ => Ok(()),
        }
    }
}
