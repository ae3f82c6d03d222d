//! A communicator: a group of ranks and a private channel for their messages.
//!
//! `bramble::init()` returns the world communicator, every rank of the job.
//! Each communicator has its own context ids (one for point-to-point, one for
//! collectives), so its traffic never matches another communicator's, nor a
//! collective's a user's message.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::engine::Engine;
use crate::error::{Error, Result};

/// A group of ranks that can talk to each other. Cheap to clone.
///
/// Not `Send`: like an MPI communicator in `MPI_THREAD_SINGLE`, it belongs to
/// the thread that created it.
#[derive(Clone)]
pub struct Communicator {
    pub(crate) engine: Rc<RefCell<Engine>>,
    /// Context id of point-to-point traffic; collectives use `context + 1`.
    pub(crate) context: u32,
    group: Rc<Group>,
    rank: usize,
    processor_name: Rc<str>,
}

/// Maps between communicator ranks and world ranks.
struct Group {
    members: Vec<usize>,
    index: HashMap<usize, usize>,
}

impl Communicator {
    pub(crate) fn world(engine: Engine, processor_name: String) -> Communicator {
        let size = engine.size();
        let rank = engine.rank();
        Communicator {
            engine: Rc::new(RefCell::new(engine)),
            context: 0,
            group: Rc::new(Group::new((0..size).collect())),
            rank,
            processor_name: processor_name.into(),
        }
    }

    /// This process's rank in the communicator, `0..size()`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// How many ranks the communicator has.
    pub fn size(&self) -> usize {
        self.group.members.len()
    }

    /// The name of the host this rank runs on (as `MPI_Get_processor_name`).
    pub fn processor_name(&self) -> &str {
        &self.processor_name
    }

    /// The world rank of communicator rank `rank`, or an error naming the valid range.
    pub(crate) fn world_rank(&self, rank: usize) -> Result<usize> {
        self.group
            .members
            .get(rank)
            .copied()
            .ok_or(Error::RankOutOfRange {
                rank,
                size: self.size(),
            })
    }

    /// The communicator rank of world rank `world`.
    pub(crate) fn local_rank(&self, world: usize) -> Result<usize> {
        self.group
            .index
            .get(&world)
            .copied()
            .ok_or(Error::Protocol {
                peer: world,
                reason: "a message matched a communicator its sender is not in".to_string(),
            })
    }

    pub(crate) fn collective_context(&self) -> u32 {
        self.context + 1
    }
}

impl Group {
    fn new(members: Vec<usize>) -> Group {
        let index = members.iter().enumerate().map(|(i, &w)| (w, i)).collect();
        Group { members, index }
    }
}

impl std::fmt::Debug for Communicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Communicator")
            .field("rank", &self.rank)
            .field("size", &self.size())
            .field("context", &self.context)
            .finish()
    }
}
