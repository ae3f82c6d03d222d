//! Parallel sample sort: every rank sorts its own keys, the ranks agree on
//! splitters from a sample of everyone's keys (allgather), send each key to
//! the rank owning its range (alltoall of counts, then alltoallv of keys),
//! and sort what they receive. Rank 0 gathers the result and checks it
//! against a sequential sort of all keys.
//!
//! Run: `bramble run -n 4 target/release/examples/sample_sort [KEYS_PER_RANK]`
//! Prints `sample sort: 40000 keys on 4 ranks, bucket sizes [...], matches sequential sort: true`.

/// The keys rank `rank` starts with: a deterministic pseudo-random stream.
fn keys_of(rank: usize, count: usize) -> Vec<u64> {
    let mut state = 0x2545_f491_4f6c_dd1d ^ (rank as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..count)
        .map(|_| {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d) % 1_000_000
        })
        .collect()
}

/// `parts - 1` evenly spaced elements of a sorted slice.
fn evenly_spaced(sorted: &[u64], parts: usize) -> Vec<u64> {
    (1..parts)
        .map(|i| sorted[i * sorted.len() / parts])
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = bramble::init()?;
    let (rank, size) = (world.rank(), world.size());
    let per_rank: usize = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .map_err(|_| format!("KEYS_PER_RANK must be a number, got {text:?}"))?,
        None => 10_000,
    };
    if per_rank < size {
        return Err(format!("KEYS_PER_RANK must be at least the number of ranks ({size})").into());
    }

    let mut keys = keys_of(rank, per_rank);
    keys.sort_unstable();

    // Everyone's sample, then the same splitters on every rank.
    let mut samples = vec![0u64; (size - 1) * size];
    world.allgather_slice(&evenly_spaced(&keys, size), &mut samples)?;
    samples.sort_unstable();
    let splitters = evenly_spaced(&samples, size);

    // Bucket b holds keys in [splitters[b-1], splitters[b]); keys are sorted,
    // so each bucket is a contiguous run.
    let mut send_counts = vec![0usize; size];
    for key in &keys {
        send_counts[splitters.partition_point(|s| s <= key)] += 1;
    }
    let mut recv_counts = vec![0usize; size];
    world.alltoall_slice(&send_counts, &mut recv_counts)?;
    let mut bucket = vec![0u64; recv_counts.iter().sum()];
    world.alltoallv_slice(&keys, &send_counts, &mut bucket, &recv_counts)?;
    bucket.sort_unstable();

    let bucket_sizes = world.gather(&bucket.len(), 0)?;
    let mut all = vec![0u64; per_rank * size];
    let is_root = rank == 0;
    let counts = bucket_sizes.clone().unwrap_or_default();
    world.gatherv_slice(&bucket, is_root.then_some((&mut all[..], &counts[..])), 0)?;
    if let Some(bucket_sizes) = bucket_sizes {
        let mut sequential: Vec<u64> = (0..size).flat_map(|r| keys_of(r, per_rank)).collect();
        sequential.sort_unstable();
        println!(
            "sample sort: {} keys on {size} ranks, bucket sizes {bucket_sizes:?}, matches sequential sort: {}",
            all.len(),
            all == sequential
        );
    }
    Ok(())
}
