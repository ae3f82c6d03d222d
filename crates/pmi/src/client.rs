//! The rank's side of PMI-1: talk to the process manager over `PMI_FD`.
//!
//! Used by bramble's library to bootstrap (rank, size, key/value exchange of
//! listening addresses, barriers), whichever launcher started us: `bramble
//! run` or MPICH's `mpiexec`.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;

use crate::request::Request;
use crate::wire::Line;
use crate::PmiError;

/// A connection to the process manager, after `init`.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    rank: usize,
    size: usize,
    kvsname: String,
}

impl Client {
    /// Connects using the environment a PMI-1 launcher sets (`PMI_FD`,
    /// `PMI_RANK`, `PMI_SIZE`). Returns `Ok(None)` when there is no `PMI_FD`:
    /// the program was started without a launcher and is a job of size 1.
    pub fn from_env() -> Result<Option<Client>, PmiError> {
        let Some(fd) = env_number("PMI_FD")? else {
            return Ok(None);
        };
        let rank = env_number("PMI_RANK")?.unwrap_or(0);
        let size = env_number("PMI_SIZE")?.unwrap_or(1);
        if rank >= size {
            return Err(PmiError::Environment(format!(
                "PMI_RANK={rank} is not below PMI_SIZE={size}"
            )));
        }
        let fd = i32::try_from(fd)
            .map_err(|_| PmiError::Environment(format!("PMI_FD={fd} is not a descriptor")))?;
        // SAFETY: fcntl on an arbitrary integer is harmless; it tells us whether
        // the descriptor is open before we take ownership of it.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(PmiError::Environment(format!(
                "PMI_FD={fd} is not an open descriptor (was the program started by a PMI launcher?)"
            )));
        }
        // SAFETY: the launcher handed this descriptor to us for PMI; nothing
        // else in the process uses it, so owning it here is sound.
        let stream = unsafe { UnixStream::from_raw_fd(fd) };
        Client::handshake(stream, rank, size).map(Some)
    }

    /// Runs `init`, `get_maxes` and `get_my_kvsname` over `stream`.
    pub fn handshake(stream: UnixStream, rank: usize, size: usize) -> Result<Client, PmiError> {
        let writer = stream.try_clone()?;
        let mut client = Client {
            reader: BufReader::new(stream),
            writer,
            rank,
            size,
            kvsname: String::new(),
        };
        client.call(
            &Request::Init {
                version: 1,
                subversion: 1,
            },
            "response_to_init",
        )?;
        client.call(&Request::GetMaxes, "maxes")?;
        let reply = client.call(&Request::GetMyKvsname, "my_kvsname")?;
        client.kvsname = reply.require("kvsname")?.to_string();
        Ok(client)
    }

    pub fn rank(&self) -> usize {
        self.rank
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Publishes `key=value` to the job's key/value space; visible to other
    /// ranks after the next barrier.
    pub fn put(&mut self, key: &str, value: &str) -> Result<(), PmiError> {
        self.call(
            &Request::Put {
                key: key.to_string(),
                value: value.to_string(),
            },
            "put_result",
        )
        .map(drop)
    }

    /// Looks a key up; `None` when the process manager does not know it.
    pub fn get(&mut self, key: &str) -> Result<Option<String>, PmiError> {
        let line = self.exchange(&Request::Get {
            key: key.to_string(),
        })?;
        expect_command(&line, "get_result")?;
        if line.get("rc").is_some_and(|rc| rc != "0") {
            return Ok(None);
        }
        Ok(Some(line.require("value")?.to_string()))
    }

    /// Waits until every rank of the job has entered the barrier.
    pub fn barrier(&mut self) -> Result<(), PmiError> {
        self.call(&Request::BarrierIn, "barrier_out").map(drop)
    }

    /// Tells the process manager this rank is done with PMI.
    pub fn finalize(&mut self) -> Result<(), PmiError> {
        self.call(&Request::Finalize, "finalize_ack").map(drop)
    }

    /// Asks the process manager to end the whole job with `exit_code`.
    pub fn abort(&mut self, exit_code: i32, message: &str) -> Result<(), PmiError> {
        let request = Request::Abort {
            exit_code,
            message: Some(message.replace([' ', '\n'], "_")),
        };
        self.send(&request)
    }

    fn call(&mut self, request: &Request, expected: &str) -> Result<Line, PmiError> {
        let line = self.exchange(request)?;
        expect_command(&line, expected)?;
        match line.get("rc") {
            Some(rc) if rc != "0" => Err(PmiError::Refused {
                command: line.command.clone(),
                rc: rc.to_string(),
                message: line.get("msg").unwrap_or("no message").to_string(),
            }),
            _ => Ok(line),
        }
    }

    fn exchange(&mut self, request: &Request) -> Result<Line, PmiError> {
        self.send(request)?;
        let mut text = String::new();
        if self.reader.read_line(&mut text)? == 0 {
            return Err(PmiError::Closed);
        }
        Line::parse(&text)
    }

    fn send(&mut self, request: &Request) -> Result<(), PmiError> {
        let wire = request.to_line(&self.kvsname).to_wire()?;
        self.writer.write_all(wire.as_bytes())?;
        Ok(())
    }
}

fn expect_command(line: &Line, expected: &str) -> Result<(), PmiError> {
    if line.command == expected {
        Ok(())
    } else {
        Err(PmiError::Malformed(format!(
            "expected a {expected:?} reply, got {:?}",
            line.command
        )))
    }
}

fn env_number(name: &str) -> Result<Option<usize>, PmiError> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            PmiError::Environment(format!("{name}={text:?} is not a non-negative integer"))
        }),
    }
}
