//! A token goes once around the ring of ranks, each adding its rank.
//!
//! Run: `bramble run -n 4 target/release/examples/ring`

fn main() -> Result<(), bramble::Error> {
    let world = bramble::init()?;
    let (rank, size) = (world.rank(), world.size());
    let next = (rank + 1) % size;
    let previous = (rank + size - 1) % size;
    const TAG: u32 = 0;
    if size == 1 {
        println!("ring of 1: token 0 stays with rank 0");
        return Ok(());
    }
    if rank == 0 {
        world.send(&0u64, next, TAG)?;
        let token: u64 = world.recv(previous, TAG)?;
        println!(
            "token came back to rank 0 with value {token} (expected {})",
            size * (size - 1) / 2
        );
    } else {
        let token: u64 = world.recv(previous, TAG)?;
        println!("rank {rank} got the token ({token}) from rank {previous}");
        world.send(&(token + rank as u64), next, TAG)?;
    }
    Ok(())
}
