//! Bramble: message passing for clusters of small Linux boxes.
//!
//! Start a program with `bramble run -n 4 ./my_program` (or MPICH's
//! `mpiexec`), and every copy gets a rank in the world communicator:
//!
//! ```no_run
//! let world = bramble::init()?;
//! println!(
//!     "Hello, World! I am process {} of {} on {}.",
//!     world.rank(),
//!     world.size(),
//!     world.processor_name()
//! );
//! # Ok::<(), bramble::Error>(())
//! ```
//!
//! Ranks exchange serde values or plain-data slices point to point
//! ([`Communicator::send`], [`Communicator::recv`], ...) and take part in
//! collectives ([`Communicator::barrier`], [`Communicator::broadcast`],
//! [`Communicator::reduce`], ...). Run without a launcher, a program is a job
//! of size 1. No MPI library, C toolchain or libclang is needed.
//!
//! Layout: [`bootstrap`](crate) speaks PMI-1 to the launcher; the engine
//! matches messages; transports (TCP between hosts) move the bytes behind
//! one internal trait; communicators and collectives sit on top.

mod bootstrap;
mod collective;
mod communicator;
mod engine;
mod error;
mod ops;
mod point_to_point;
mod request;
mod transport;

use std::sync::atomic::{AtomicBool, Ordering};

pub use communicator::Communicator;
pub use error::{Error, Result};
pub use ops::{Loc, Op, Reducible};
pub use point_to_point::{Source, Status, Tag, TagSelector, ANY_SOURCE, ANY_TAG};
pub use request::Request;

static STARTED: AtomicBool = AtomicBool::new(false);

/// Joins the job and returns the world communicator: every rank of the job.
///
/// Call it once per process. The job ends for this rank when the last clone
/// of the communicator is dropped: pending messages are flushed and the
/// process manager is told (PMI `finalize`).
pub fn init() -> Result<Communicator> {
    if STARTED.swap(true, Ordering::SeqCst) {
        return Err(Error::InvalidArgument(
            "bramble::init() was already called in this process; clone the communicator instead"
                .to_string(),
        ));
    }
    let engine = bootstrap::start()?;
    Ok(Communicator::world(engine, bramble_pmi::host_name()))
}
