//! Test program: a job that holds still until told to go, then checks that
//! every pair of ranks can still talk.
//!
//! Every rank connects to the others and prints `rank R of N ready on HOST`;
//! then rank 0 reads one line from stdin and broadcasts it, and every rank
//! sends its rank to every other. While the job waits, a test can kill a rank,
//! cut a host off, interrupt the launcher, or knock on a rank's port.

use std::io::BufRead;

const TAG: u32 = 7;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = bramble::init()?;
    let (rank, size) = (world.rank(), world.size());
    println!("rank {rank} of {size} ready on {}", world.processor_name());

    let mut word = String::new();
    if rank == 0 {
        std::io::stdin().lock().read_line(&mut word)?;
    }
    let mut word = word.trim().to_string();
    world.broadcast(&mut word, 0)?;

    for peer in (0..size).filter(|&peer| peer != rank) {
        world.send(&(rank as u64), peer, TAG)?;
    }
    for peer in (0..size).filter(|&peer| peer != rank) {
        let heard: u64 = world.recv(peer, TAG)?;
        if heard != peer as u64 {
            return Err(format!("rank {rank} got {heard} from rank {peer}").into());
        }
    }
    let pairs = world.reduce(size as u64 - 1, 0, |a, b| a + b)?;
    if let Some(pairs) = pairs {
        println!("after {word:?}, all {pairs} ordered pairs of the {size} ranks talked");
    }
    Ok(())
}
