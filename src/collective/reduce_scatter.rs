//! Reduce-scatter: combine every rank's slice, then deal the result out in blocks.

use crate::collective::channel::{Channel, Plain};
use crate::collective::ring::reduce_scatter_ring;
use crate::collective::{check_length, copy_checked, ranges_checked, tags};
use crate::communicator::Communicator;
use crate::error::Result;
use crate::ops::{check_supported, Op, Reducible};

impl Communicator {
    /// Combines every rank's `send` element by element with `op`, and gives
    /// rank i block i of the result (`counts[i]` elements, blocks one after
    /// the other) in `recv` (MPI_Reduce_scatter). Every rank passes the same
    /// `counts`, which add up to `send.len()`.
    ///
    /// Ring: n−1 steps, each sending one block to the next rank and folding
    /// in the block from the previous one, so each rank moves about one slice
    /// in total, whatever n is.
    ///
    /// ```no_run
    /// use bramble::Op;
    /// let world = bramble::init()?;
    /// let votes = vec![1u32; world.size()]; // one vote for every rank
    /// let mut mine = [0u32];
    /// world.reduce_scatter_slice(&votes, &mut mine, &vec![1; world.size()], Op::Sum)?;
    /// assert_eq!(mine[0], world.size() as u32);
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn reduce_scatter_slice<T: Reducible>(
        &self,
        send: &[T],
        recv: &mut [T],
        counts: &[usize],
        op: Op,
    ) -> Result<()> {
        check_supported::<T>(op)?;
        let blocks = ranges_checked("reduce_scatter_slice", counts, self.size(), send.len())?;
        let total = blocks.last().map_or(0, |block| block.end);
        check_length(
            "reduce_scatter_slice send buffer (sum of counts)",
            total,
            send.len(),
        )?;
        let channel = Channel::new(self, tags::REDUCE_SCATTER, Plain::<T>::new());
        let mut work = send.to_vec();
        reduce_scatter_ring(&channel, &mut work, &blocks, op)?;
        copy_checked(
            "reduce_scatter_slice receive buffer (counts[rank])",
            recv,
            &work[blocks[self.rank()].clone()],
        )
    }
}
