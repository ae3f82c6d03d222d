//! Rank output, whole lines at a time.
//!
//! The proxy cuts each rank's stdout and stderr into complete lines before
//! sending them, and the launcher writes each batch with one call, so lines of
//! different ranks never interleave inside a line. With `--label` every line
//! gets Hydra's `[R] ` prefix. The launcher writes on a thread of its own
//! ([`Terminal`]), so a slow or paused terminal (Ctrl-S) holds up only the
//! output, never heartbeats or the end of a job.

use std::io::{self, Write};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crate::budget::OutputBudget;
use crate::protocol::Stream;

/// A line longer than this is passed on in pieces rather than held forever.
const MAX_HELD: usize = 64 * 1024;

/// Accumulates bytes and releases them up to the last newline.
#[derive(Default)]
pub struct LineSplitter {
    held: Vec<u8>,
}

impl LineSplitter {
    /// Adds `data`; returns the complete lines now available, if any.
    pub fn push(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        self.held.extend_from_slice(data);
        let cut = match self.held.iter().rposition(|&b| b == b'\n') {
            Some(last_newline) => last_newline + 1,
            None if self.held.len() >= MAX_HELD => self.held.len(),
            None => return None,
        };
        let rest = self.held.split_off(cut);
        Some(std::mem::replace(&mut self.held, rest))
    }

    /// What remains at end of stream (a last line without newline).
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        (!self.held.is_empty()).then(|| std::mem::take(&mut self.held))
    }
}

/// Writes a batch of lines from `rank` to `out` in one call.
pub fn write_lines(out: &mut impl Write, rank: usize, data: &[u8], label: bool) -> io::Result<()> {
    if !label {
        out.write_all(data)?;
        if !data.ends_with(b"\n") {
            out.write_all(b"\n")?;
        }
        return out.flush();
    }
    let prefix = format!("[{rank}] ");
    let mut text = Vec::with_capacity(data.len() + 8 * prefix.len());
    for line in data.split_inclusive(|&b| b == b'\n') {
        text.extend_from_slice(prefix.as_bytes());
        text.extend_from_slice(line);
    }
    if !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    out.write_all(&text)?;
    out.flush()
}

/// The launcher's writer of rank output to its own stdout and stderr.
pub struct Terminal {
    sender: Option<Sender<(usize, Stream, Vec<u8>)>>,
    writer: Option<JoinHandle<()>>,
}

impl Terminal {
    /// Starts the writer; it gives each batch's bytes back to `budget` once written.
    pub fn start(label: bool, budget: Arc<OutputBudget>) -> Terminal {
        let (sender, batches) = mpsc::channel::<(usize, Stream, Vec<u8>)>();
        let writer = thread::spawn(move || {
            for (rank, stream, data) in batches {
                let written = match stream {
                    Stream::Stdout => write_lines(&mut io::stdout().lock(), rank, &data, label),
                    Stream::Stderr => write_lines(&mut io::stderr().lock(), rank, &data, label),
                };
                // A closed terminal is not a reason to stop the job.
                drop(written);
                budget.give_back(data.len());
            }
        });
        Terminal {
            sender: Some(sender),
            writer: Some(writer),
        }
    }

    /// Queues whole lines of `rank` for writing.
    pub fn write(&self, rank: usize, stream: Stream, data: Vec<u8>) {
        if let Some(sender) = &self.sender {
            let _ = sender.send((rank, stream, data));
        }
    }

    /// Waits until everything queued is written.
    pub fn finish(&mut self) {
        self.sender = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_only_complete_lines() {
        let mut splitter = LineSplitter::default();
        assert_eq!(splitter.push(b"hel"), None);
        assert_eq!(splitter.push(b"lo\nwor"), Some(b"hello\n".to_vec()));
        assert_eq!(splitter.push(b"ld\na\nb"), Some(b"world\na\n".to_vec()));
        assert_eq!(splitter.finish(), Some(b"b".to_vec()));
        assert_eq!(splitter.finish(), None);
    }

    #[test]
    fn very_long_lines_are_not_held_forever() {
        let mut splitter = LineSplitter::default();
        let chunk = vec![b'x'; MAX_HELD];
        assert_eq!(splitter.push(&chunk).map(|v| v.len()), Some(MAX_HELD));
    }

    #[test]
    fn labels_every_line() {
        let mut out = Vec::new();
        write_lines(&mut out, 2, b"a\nb\n", true).unwrap();
        write_lines(&mut out, 3, b"tail", true).unwrap();
        assert_eq!(out, b"[2] a\n[2] b\n[3] tail\n");
    }
}
