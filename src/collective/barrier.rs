//! Barrier: nobody leaves until everybody has arrived.

use crate::collective::tags;
use crate::communicator::Communicator;
use crate::error::Result;
use crate::point_to_point::Source;

impl Communicator {
    /// Blocks until every rank of the communicator has called `barrier`.
    ///
    /// Dissemination algorithm: ⌈log2 n⌉ rounds; in round k rank r signals
    /// r + 2^k and waits for r − 2^k, so no rank is a bottleneck.
    ///
    /// ```no_run
    /// let world = bramble::init()?;
    /// world.barrier()?;
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn barrier(&self) -> Result<()> {
        let size = self.size();
        let rank = self.rank();
        let context = self.collective_context();
        let mut distance = 1;
        while distance < size {
            let to = (rank + distance) % size;
            let from = (rank + size - distance) % size;
            let to_world = self.world_rank(to)?;
            self.engine
                .borrow_mut()
                .send(to_world, context, tags::BARRIER, 0, &[])?;
            self.recv_message(context, Source::Rank(from), tags::BARRIER.into())?;
            distance *= 2;
        }
        Ok(())
    }
}
