//! Scratch memory for collectives, kept by the engine from call to call.
//!
//! Large collectives receive blocks into a temporary buffer before combining
//! them. A fresh allocation of that size is fresh pages from the kernel on
//! every call, and the page faults cost more than the copy; so the buffer
//! is borrowed from the engine and given back when the collective ends.

use std::cell::RefCell;
use std::rc::Rc;

use bytemuck::Pod;

use crate::engine::Engine;
use crate::error::{Error, Result};

/// The engine's scratch buffer, lent to one collective call.
pub(crate) struct Scratch {
    /// `u128` elements, so the memory is aligned for every plain type.
    memory: Vec<u128>,
    engine: Rc<RefCell<Engine>>,
}

impl Scratch {
    /// At least `bytes` bytes of scratch memory.
    pub(crate) fn borrow(engine: &Rc<RefCell<Engine>>, bytes: usize) -> Scratch {
        let mut memory = engine.borrow_mut().take_scratch();
        let elements = bytes.div_ceil(std::mem::size_of::<u128>());
        if memory.len() < elements {
            memory.resize(elements, 0);
        }
        Scratch {
            memory,
            engine: engine.clone(),
        }
    }

    /// The first `count` elements of `T` of the buffer.
    pub(crate) fn as_slice_of<T: Pod>(&mut self, count: usize) -> Result<&mut [T]> {
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut self.memory);
        let wanted = count * std::mem::size_of::<T>();
        let prefix = bytes.get_mut(..wanted).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "internal: scratch of {wanted} bytes asked beyond its size"
            ))
        })?;
        bytemuck::try_cast_slice_mut(prefix).map_err(|e| {
            Error::InvalidArgument(format!(
                "internal: scratch as {}: {e}",
                std::any::type_name::<T>()
            ))
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut engine) = self.engine.try_borrow_mut() {
            engine.keep_scratch(std::mem::take(&mut self.memory));
        }
    }
}
