//! Requests: operations started now that complete later (`isend`, `irecv`,
//! `irecv_into`), and waiting on one, all or any of them.
//!
//! A [`Request`] owns whatever the operation needs until it completes: a
//! receive into the caller's buffer holds the buffer's `&mut` borrow, so the
//! borrow checker keeps the buffer alive and untouched until then. Messages
//! are matched into the engine's storage and copied into the buffer only when
//! the request completes, so dropping a request early is always safe: the
//! receive is withdrawn and a message it had matched stays available to later
//! receives.

use crate::communicator::Communicator;
use crate::engine::{Engine, Incoming, RecvId};
use crate::error::{Error, Result};

/// An operation in progress that yields a `T` when it completes: `()` for
/// sends, a [`Status`](crate::Status) for slice receives, `(value, Status)`
/// for value receives.
///
/// Complete it with [`wait`](Request::wait), [`test`](Request::test),
/// [`Request::wait_all`] or [`Request::wait_any`].
///
/// ```no_run
/// let world = bramble::init()?;
/// let (rank, size) = (world.rank(), world.size());
/// let mut left = [0.0f64; 4];
/// let receive = world.irecv_into(&mut left, (rank + size - 1) % size, 0)?;
/// let mine = [rank as f64; 4];
/// let send = world.isend_slice(&mine, (rank + 1) % size, 0)?;
/// send.wait()?;
/// let status = receive.wait()?;
/// println!("got {} values from rank {}: {left:?}", status.count::<f64>(), status.source);
/// # Ok::<(), bramble::Error>(())
/// ```
#[must_use = "a request does nothing until it is waited on or tested"]
pub struct Request<'a, T> {
    comm: Communicator,
    /// `None` once the request has completed (or failed).
    pending: Option<Pending<'a, T>>,
}

enum Pending<'a, T> {
    /// A send to world rank `dest`; completes with `value` once flushed.
    /// A `lent` payload stays borrowed until then.
    Send { dest: usize, value: T, lent: bool },
    /// A posted receive; `finish` turns its message into the result.
    Recv {
        id: RecvId,
        finish: Box<dyn FnOnce(Incoming) -> Result<T> + 'a>,
    },
}

impl<'a, T> Request<'a, T> {
    pub(crate) fn send(comm: &Communicator, dest: usize, value: T, lent: bool) -> Self {
        Request {
            comm: comm.clone(),
            pending: Some(Pending::Send { dest, value, lent }),
        }
    }

    pub(crate) fn recv(
        comm: &Communicator,
        id: RecvId,
        finish: impl FnOnce(Incoming) -> Result<T> + 'a,
    ) -> Self {
        Request {
            comm: comm.clone(),
            pending: Some(Pending::Recv {
                id,
                finish: Box::new(finish),
            }),
        }
    }

    /// Blocks until the operation has completed and returns its result.
    pub fn wait(mut self) -> Result<T> {
        let engine = self.comm.engine.clone();
        let result = engine.borrow_mut().wait_until(|e| self.poll(e));
        result
    }

    /// The result if the operation has completed; `Ok(None)` means "not yet,
    /// test again later". Testing a request that already completed is an error.
    pub fn test(&mut self) -> Result<Option<T>> {
        let engine = self.comm.engine.clone();
        let mut engine = engine.borrow_mut();
        engine.progress()?;
        self.poll(&mut engine)
    }

    /// Waits for every request and returns their results in order.
    ///
    /// ```no_run
    /// # let world = bramble::init()?;
    /// use bramble::Request;
    /// let receives = (0..world.size())
    ///     .map(|source| world.irecv::<String>(source, 1))
    ///     .collect::<Result<Vec<_>, _>>()?;
    /// world.send("hi", 0, 1)?;
    /// # if world.rank() == 0 {
    /// for (text, status) in Request::wait_all(receives)? {
    ///     println!("{text} from {}", status.source);
    /// }
    /// # }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn wait_all(requests: impl IntoIterator<Item = Self>) -> Result<Vec<T>> {
        // Waiting in order is enough: the engine matches arriving messages to
        // every posted receive while it waits for any one of them.
        requests.into_iter().map(Request::wait).collect()
    }

    /// Waits until one of `requests` completes, removes it from the vector
    /// and returns its index (before removal) and result.
    ///
    /// ```no_run
    /// # let world = bramble::init()?;
    /// use bramble::Request;
    /// let mut receives = (1..world.size())
    ///     .map(|source| world.irecv::<u64>(source, 0))
    ///     .collect::<Result<Vec<_>, _>>()?;
    /// while !receives.is_empty() {
    ///     let (_, (value, status)) = Request::wait_any(&mut receives)?;
    ///     println!("rank {} answered first: {value}", status.source);
    /// }
    /// # Ok::<(), bramble::Error>(())
    /// ```
    pub fn wait_any(requests: &mut Vec<Self>) -> Result<(usize, T)> {
        let Some(first) = requests.first() else {
            return Err(Error::InvalidArgument(
                "wait_any needs at least one request; check that the list is not empty first"
                    .to_string(),
            ));
        };
        let engine = first.comm.engine.clone();
        let (index, result) = engine.borrow_mut().wait_until(|e| {
            for (index, request) in requests.iter_mut().enumerate() {
                if let Some(result) = request.poll(e)? {
                    return Ok(Some((index, result)));
                }
            }
            Ok(None)
        })?;
        // The completed request is spent; its result is returned instead.
        drop(requests.remove(index));
        Ok((index, result))
    }

    /// Completes the operation if it can complete now (without making
    /// progress). Once it has completed or failed, the request is spent.
    fn poll(&mut self, engine: &mut Engine) -> Result<Option<T>> {
        let pending = self.pending.take().ok_or_else(|| {
            Error::InvalidArgument(
                "this request already completed; each request yields its result once".to_string(),
            )
        })?;
        match pending {
            Pending::Send { dest, value, lent } => {
                if engine.is_flushed(dest)? {
                    return Ok(Some(value));
                }
                self.pending = Some(Pending::Send { dest, value, lent });
            }
            // On an error the engine has already withdrawn the receive.
            Pending::Recv { id, finish } => match engine.take_or_fail(id)? {
                Some(message) => return finish(message).map(Some),
                None => self.pending = Some(Pending::Recv { id, finish }),
            },
        }
        Ok(None)
    }
}

impl<T> Drop for Request<'_, T> {
    fn drop(&mut self) {
        let Ok(mut engine) = self.comm.engine.try_borrow_mut() else {
            return;
        };
        match self.pending.take() {
            Some(Pending::Recv { id, .. }) => engine.cancel(id),
            // The borrow of a lent payload ends here: the receiver must have
            // read it first. A failure was the receiver's to report.
            Some(Pending::Send {
                dest, lent: true, ..
            }) => {
                let _ = engine.wait_flushed(dest);
            }
            _ => {}
        }
    }
}

impl<T> std::fmt::Debug for Request<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.pending {
            None => "completed",
            Some(Pending::Send { .. }) => "send",
            Some(Pending::Recv { .. }) => "receive",
        };
        f.debug_struct("Request").field("state", &state).finish()
    }
}
