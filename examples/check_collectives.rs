//! Test program: runs a sequence of point-to-point and collective steps and
//! checks every result against a sequential model that each rank computes
//! locally (every rank can generate every rank's input from the seed).
//!
//! Run: `bramble run -n 4 target/debug/examples/check_collectives SEED STEP...`
//! where each STEP is `kind.op.len.root.comm` (numbers, taken modulo the
//! number of choices) or `all` for one step of every kind. Prints
//! `ok: N steps on K ranks` from rank 0 and exits 0 when every check passes;
//! otherwise names the first failing step and exits 1.
//! The integration test tests/collectives.rs drives it with proptest.

use bramble::{Communicator, Loc, Op, Request, ANY_SOURCE, ANY_TAG};

const OPS: [Op; 10] = [
    Op::Sum,
    Op::Prod,
    Op::Min,
    Op::Max,
    Op::LogicalAnd,
    Op::LogicalOr,
    Op::LogicalXor,
    Op::BitAnd,
    Op::BitOr,
    Op::BitXor,
];

const KINDS: [&str; 28] = [
    "barrier",
    "broadcast",
    "broadcast_slice",
    "reduce",
    "reduce_slice",
    "allreduce",
    "allreduce_slice",
    "scan",
    "scan_slice",
    "exscan",
    "exscan_slice",
    "gather",
    "gather_slice",
    "gatherv_slice",
    "scatter",
    "scatter_slice",
    "scatterv_slice",
    "allgather",
    "allgather_slice",
    "allgatherv_slice",
    "alltoall",
    "alltoall_slice",
    "alltoallv_slice",
    "reduce_scatter_slice",
    "minloc_maxloc",
    "sendrecv_ring",
    "any_source_and_order",
    "nonblocking",
];

/// Which communicator a step runs on.
const COMMS: [&str; 4] = ["world", "dup", "split by parity", "split without rank 0"];

#[derive(Debug, Clone, Copy)]
struct Step {
    kind: usize,
    op: Op,
    len: usize,
    root: usize,
    comm: usize,
}

fn parse_steps(args: &[String]) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for arg in args {
        if arg == "all" {
            for kind in 0..KINDS.len() {
                steps.push(Step {
                    kind,
                    op: OPS[kind % OPS.len()],
                    len: 3 + kind % 5,
                    root: kind,
                    comm: kind,
                });
            }
            continue;
        }
        let numbers = arg
            .split('.')
            .map(|part| part.parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| format!("step {arg:?} is not kind.op.len.root.comm"))?;
        let [kind, op, len, root, comm] = numbers[..] else {
            return Err(format!("step {arg:?} is not kind.op.len.root.comm"));
        };
        steps.push(Step {
            kind: kind % KINDS.len(),
            op: OPS[op % OPS.len()],
            len,
            root,
            comm: comm % COMMS.len(),
        });
    }
    Ok(steps)
}

/// SplitMix64: a deterministic stream, the same on every rank.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The input of world rank `rank` at step `step`: small numbers, some zero,
/// some negative, so every op (logical ones too) has something to do.
fn input(seed: u64, step: usize, rank: usize, len: usize) -> Vec<i64> {
    (0..len)
        .map(|i| {
            let x = mix(seed ^ mix((step as u64) << 40 ^ (rank as u64) << 20 ^ i as u64));
            (x % 13) as i64 - 4
        })
        .collect()
}

fn model_combine(op: Op, a: i64, b: i64) -> i64 {
    let truth = |x: i64| x != 0;
    match op {
        Op::Sum => a.wrapping_add(b),
        Op::Prod => a.wrapping_mul(b),
        Op::Min => a.min(b),
        Op::Max => a.max(b),
        Op::LogicalAnd => (truth(a) && truth(b)) as i64,
        Op::LogicalOr => (truth(a) || truth(b)) as i64,
        Op::LogicalXor => (truth(a) != truth(b)) as i64,
        Op::BitAnd => a & b,
        Op::BitOr => a | b,
        Op::BitXor => a ^ b,
        Op::MinLoc | Op::MaxLoc => unreachable!("the model reduces plain integers only"),
    }
}

fn model_fold(op: Op, inputs: &[Vec<i64>]) -> Vec<i64> {
    let mut result = inputs[0].clone();
    for later in &inputs[1..] {
        for (a, b) in result.iter_mut().zip(later) {
            *a = model_combine(op, *a, *b);
        }
    }
    result
}

fn concat(mut a: Vec<i64>, b: Vec<i64>) -> Vec<i64> {
    a.extend(b);
    a
}

fn check<T: PartialEq + std::fmt::Debug>(what: &str, actual: T, expected: T) -> Result<(), String> {
    if actual == expected {
        return Ok(());
    }
    let short = |value: &T| {
        let text = format!("{value:?}");
        match text.char_indices().nth(300) {
            Some((cut, _)) => format!("{}...", &text[..cut]),
            None => text,
        }
    };
    Err(format!(
        "{what}: got {}, expected {}",
        short(&actual),
        short(&expected)
    ))
}

/// The communicator a step runs on and its members' world ranks in rank
/// order, as the model predicts them; `None` if this rank is not a member.
fn communicator(
    world: &Communicator,
    choice: usize,
) -> Result<Option<(Communicator, Vec<usize>)>, String> {
    let (rank, size) = (world.rank(), world.size());
    let everyone: Vec<usize> = (0..size).collect();
    let made = match choice {
        0 => Some((world.clone(), everyone)),
        1 => Some((world.dup().map_err(|e| e.to_string())?, everyone)),
        2 => {
            // Parity classes, in reverse rank order (the key).
            let comm = world
                .split(Some(rank % 2), size - rank)
                .map_err(|e| e.to_string())?;
            let mut members: Vec<usize> =
                everyone.into_iter().filter(|r| r % 2 == rank % 2).collect();
            members.reverse();
            comm.map(|comm| (comm, members))
        }
        _ => {
            let color = (rank != 0).then_some(7);
            let comm = world.split(color, 0).map_err(|e| e.to_string())?;
            comm.map(|comm| (comm, everyone[1..].to_vec()))
        }
    };
    if let Some((comm, members)) = &made {
        check("communicator size", comm.size(), members.len())?;
        check("communicator rank", members[comm.rank()], rank)?;
    }
    Ok(made)
}

/// Counts that vary by rank (some zero) for the "v" collectives.
fn count(len: usize, a: usize, b: usize) -> usize {
    (len + 3 * a + 5 * b) % 6
}

fn run_step(world: &Communicator, seed: u64, index: usize, step: Step) -> Result<(), String> {
    let Some((comm, members)) = communicator(world, step.comm)? else {
        return Ok(());
    };
    let (rank, n) = (comm.rank(), comm.size());
    let root = step.root % n;
    let len = step.len;
    let op = step.op;
    let inputs: Vec<Vec<i64>> = members
        .iter()
        .map(|&w| input(seed, index, w, len))
        .collect();
    let mine = &inputs[rank];
    let e = |error: bramble::Error| error.to_string();
    match KINDS[step.kind] {
        "barrier" => comm.barrier().map_err(e)?,
        "broadcast" => {
            let mut value = if rank == root {
                mine.clone()
            } else {
                Vec::new()
            };
            comm.broadcast(&mut value, root).map_err(e)?;
            check("broadcast", value, inputs[root].clone())?;
        }
        "broadcast_slice" => {
            let mut data = if rank == root {
                mine.clone()
            } else {
                vec![0; len]
            };
            comm.broadcast_slice(&mut data, root).map_err(e)?;
            check("broadcast_slice", data, inputs[root].clone())?;
        }
        "reduce" => {
            // Concatenation is not commutative: checks rank order at root 0.
            let result = comm.reduce(mine.clone(), 0, concat).map_err(e)?;
            let expected = (rank == 0).then(|| inputs.concat());
            check("reduce (concatenation)", result, expected)?;
        }
        "reduce_slice" => {
            let mut recv = vec![0; len];
            comm.reduce_slice(mine, (rank == root).then_some(&mut recv[..]), op, root)
                .map_err(e)?;
            if rank == root {
                check("reduce_slice", recv, model_fold(op, &inputs))?;
            }
        }
        "allreduce" => {
            let result = comm.allreduce(mine.clone(), concat).map_err(e)?;
            check("allreduce (concatenation)", result, inputs.concat())?;
        }
        "allreduce_slice" => {
            let mut recv = vec![0; len];
            comm.allreduce_slice(mine, &mut recv, op).map_err(e)?;
            check("allreduce_slice", recv, model_fold(op, &inputs))?;
        }
        "scan" => {
            let result = comm.scan(mine.clone(), concat).map_err(e)?;
            check("scan (concatenation)", result, inputs[..=rank].concat())?;
        }
        "scan_slice" => {
            let mut recv = vec![0; len];
            comm.scan_slice(mine, &mut recv, op).map_err(e)?;
            check("scan_slice", recv, model_fold(op, &inputs[..=rank]))?;
        }
        "exscan" => {
            let result = comm.exscan(mine.clone(), concat).map_err(e)?;
            check(
                "exscan (concatenation)",
                result,
                (rank > 0).then(|| inputs[..rank].concat()),
            )?;
        }
        "exscan_slice" => {
            let mut recv = vec![99; len];
            let written = comm.exscan_slice(mine, &mut recv, op).map_err(e)?;
            let expected = match rank {
                0 => vec![99; len],
                _ => model_fold(op, &inputs[..rank]),
            };
            check("exscan_slice", (written, recv), (rank > 0, expected))?;
        }
        "gather" => {
            let result = comm.gather(mine, root).map_err(e)?;
            check("gather", result, (rank == root).then(|| inputs.clone()))?;
        }
        "gather_slice" => {
            let mut recv = vec![0; n * len];
            comm.gather_slice(mine, (rank == root).then_some(&mut recv[..]), root)
                .map_err(e)?;
            if rank == root {
                check("gather_slice", recv, inputs.concat())?;
            }
        }
        "gatherv_slice" => {
            let counts: Vec<usize> = (0..n).map(|j| count(len, j, 0)).collect();
            let pieces: Vec<Vec<i64>> = (0..n)
                .map(|j| inputs[j][..counts[j].min(len)].to_vec())
                .collect();
            let counts: Vec<usize> = pieces.iter().map(Vec::len).collect();
            let mut recv = vec![0; counts.iter().sum::<usize>() + 2];
            comm.gatherv_slice(
                &pieces[rank],
                (rank == root).then_some((&mut recv[..], &counts[..])),
                root,
            )
            .map_err(e)?;
            if rank == root {
                check("gatherv_slice", recv, concat(pieces.concat(), vec![0, 0]))?;
            }
        }
        "scatter" => {
            let result: Vec<i64> = comm
                .scatter((rank == root).then_some(&inputs[..]), root)
                .map_err(e)?;
            check("scatter", result, inputs[rank].clone())?;
        }
        "scatter_slice" => {
            let all = inputs[root]
                .repeat(n)
                .iter()
                .enumerate()
                .map(|(i, x)| x + i as i64)
                .collect::<Vec<_>>();
            let mut recv = vec![0; len];
            comm.scatter_slice((rank == root).then_some(&all[..]), &mut recv, root)
                .map_err(e)?;
            check(
                "scatter_slice",
                recv,
                all[rank * len..(rank + 1) * len].to_vec(),
            )?;
        }
        "scatterv_slice" => {
            let counts: Vec<usize> = (0..n).map(|j| count(len, j, 1)).collect();
            let all: Vec<i64> = (0..counts.iter().sum::<usize>() as i64)
                .map(|x| x * 3 - 7)
                .collect();
            let start: usize = counts[..rank].iter().sum();
            let mut recv = vec![0; 8];
            let received = comm
                .scatterv_slice(
                    (rank == root).then_some((&all[..], &counts[..])),
                    &mut recv,
                    root,
                )
                .map_err(e)?;
            check("scatterv_slice count", received, counts[rank])?;
            check(
                "scatterv_slice",
                &recv[..received],
                &all[start..start + counts[rank]],
            )?;
        }
        "allgather" => {
            let result = comm.allgather(mine).map_err(e)?;
            check("allgather", result, inputs.clone())?;
        }
        "allgather_slice" => {
            let mut recv = vec![0; n * len];
            comm.allgather_slice(mine, &mut recv).map_err(e)?;
            check("allgather_slice", recv, inputs.concat())?;
        }
        "allgatherv_slice" => {
            let counts: Vec<usize> = (0..n).map(|j| count(len, j, 2).min(len)).collect();
            let mut recv = vec![0; counts.iter().sum()];
            comm.allgatherv_slice(&mine[..counts[rank]], &mut recv, &counts)
                .map_err(e)?;
            let expected: Vec<i64> = (0..n)
                .flat_map(|j| inputs[j][..counts[j]].to_vec())
                .collect();
            check("allgatherv_slice", recv, expected)?;
        }
        "alltoall" => {
            // Rank i sends [i, j, data...] to rank j.
            let letter = |i: usize, j: usize| concat(vec![i as i64, j as i64], inputs[i].clone());
            let result = comm
                .alltoall(&(0..n).map(|j| letter(rank, j)).collect::<Vec<_>>())
                .map_err(e)?;
            check(
                "alltoall",
                result,
                (0..n).map(|i| letter(i, rank)).collect(),
            )?;
        }
        "alltoall_slice" => {
            let block = |i: usize, j: usize| {
                inputs[i]
                    .iter()
                    .map(|x| x * 100 + j as i64)
                    .collect::<Vec<_>>()
            };
            let send: Vec<i64> = (0..n).flat_map(|j| block(rank, j)).collect();
            let mut recv = vec![0; n * len];
            comm.alltoall_slice(&send, &mut recv).map_err(e)?;
            check(
                "alltoall_slice",
                recv,
                (0..n).flat_map(|i| block(i, rank)).collect(),
            )?;
        }
        "alltoallv_slice" => {
            let block = |i: usize, j: usize| vec![(i * 10 + j) as i64; count(len, i, j)];
            let send: Vec<i64> = (0..n).flat_map(|j| block(rank, j)).collect();
            let send_counts: Vec<usize> = (0..n).map(|j| count(len, rank, j)).collect();
            let recv_counts: Vec<usize> = (0..n).map(|i| count(len, i, rank)).collect();
            let mut recv = vec![0; recv_counts.iter().sum()];
            comm.alltoallv_slice(&send, &send_counts, &mut recv, &recv_counts)
                .map_err(e)?;
            check(
                "alltoallv_slice",
                recv,
                (0..n).flat_map(|i| block(i, rank)).collect(),
            )?;
        }
        "reduce_scatter_slice" => {
            let counts: Vec<usize> = (0..n).map(|j| count(len, j, 3)).collect();
            let total: usize = counts.iter().sum();
            let wide: Vec<Vec<i64>> = members
                .iter()
                .map(|&w| input(seed, index, w, total))
                .collect();
            let mut recv = vec![0; counts[rank]];
            comm.reduce_scatter_slice(&wide[rank], &mut recv, &counts, op)
                .map_err(e)?;
            let start: usize = counts[..rank].iter().sum();
            check(
                "reduce_scatter_slice",
                recv,
                model_fold(op, &wide)[start..start + counts[rank]].to_vec(),
            )?;
        }
        "minloc_maxloc" => {
            let located = |j: usize| -> Vec<Loc<f64>> {
                inputs[j]
                    .iter()
                    .map(|&x| Loc {
                        value: x as f64,
                        index: j as u64,
                    })
                    .collect()
            };
            for (op, better) in [(Op::MinLoc, -1.0), (Op::MaxLoc, 1.0)] {
                let mut recv = vec![Loc::default(); len];
                comm.allreduce_slice(&located(rank), &mut recv, op)
                    .map_err(e)?;
                let expected: Vec<Loc<f64>> = (0..len)
                    .map(|i| {
                        let best = (0..n)
                            .map(|j| inputs[j][i] as f64 * better)
                            .fold(f64::MIN, f64::max);
                        let at = (0..n)
                            .find(|&j| inputs[j][i] as f64 * better == best)
                            .unwrap_or(0);
                        Loc {
                            value: inputs[at][i] as f64,
                            index: at as u64,
                        }
                    })
                    .collect();
                check(&format!("{op:?}"), recv, expected)?;
            }
        }
        "sendrecv_ring" => {
            // Large messages both ways around the ring must not deadlock.
            let big = |j: usize| inputs[j].repeat(20_000 / len.max(1) + 1);
            let (next, previous) = ((rank + 1) % n, (rank + n - 1) % n);
            let (received, status) = comm
                .sendrecv::<_, Vec<i64>>(&big(rank), next, 5, previous, 5)
                .map_err(e)?;
            check(
                "sendrecv value",
                (received, status.source, status.tag),
                (big(previous), previous, 5),
            )?;
            let mut buffer = vec![0i64; big(previous).len()];
            let status = comm
                .sendrecv_slice(&big(rank), previous, 6, &mut buffer, next, 6)
                .map_err(e)?;
            check(
                "sendrecv_slice",
                (buffer, status.count::<i64>()),
                (big(next), big(next).len()),
            )?;
            let mut shifted = big(rank);
            comm.sendrecv_replace_slice(&mut shifted, next, 7, previous, 7)
                .map_err(e)?;
            check("sendrecv_replace_slice", shifted, big(previous))?;
        }
        "any_source_and_order" => {
            // Everyone sends `len` numbered messages to the root with one tag;
            // the root receives them from any source: each sender's in order.
            if rank == root {
                let mut next_expected = vec![0i64; n];
                for _ in 0..(n - 1) * len {
                    let (number, status) =
                        comm.recv_with_status::<i64>(ANY_SOURCE, 9).map_err(e)?;
                    check("message order", number, next_expected[status.source])?;
                    next_expected[status.source] += 1;
                }
                let probe = comm.iprobe(ANY_SOURCE, ANY_TAG).map_err(e)?;
                check("nothing left over", probe, None)?;
            } else {
                for number in 0..len as i64 {
                    comm.send(&number, root, 9).map_err(e)?;
                }
            }
            comm.barrier().map_err(e)?;
        }
        "nonblocking" => {
            // Receive a slice from every rank with irecv_into + wait_any,
            // while sending ours with isend_slice; then probe-sized receives.
            let mut buffers = vec![vec![0i64; len]; n];
            let mut receives = Vec::new();
            for (source, buffer) in buffers.iter_mut().enumerate() {
                receives.push(comm.irecv_into(buffer, source, 3).map_err(e)?);
            }
            let sends = (0..n)
                .map(|dest| comm.isend_slice(mine, dest, 3))
                .collect::<Result<Vec<_>, _>>()
                .map_err(e)?;
            let mut seen = Vec::new();
            while !receives.is_empty() {
                let (_, status) = Request::wait_any(&mut receives).map_err(e)?;
                seen.push(status.source);
            }
            Request::wait_all(sends).map_err(e)?;
            // The (now empty) request list borrows the buffers until it goes.
            drop(receives);
            seen.sort_unstable();
            check("wait_any sources", seen, (0..n).collect())?;
            check("irecv_into buffers", buffers, inputs.clone())?;
            let next = (rank + 1) % n;
            comm.send_slice(&inputs[next][..len / 2], next, 4)
                .map_err(e)?;
            let status = comm.probe((rank + n - 1) % n, 4).map_err(e)?;
            let mut exact = vec![0i64; status.count::<i64>()];
            comm.recv_into(&mut exact, status.source, 4).map_err(e)?;
            check("probe then recv_into", exact, mine[..len / 2].to_vec())?;
        }
        other => return Err(format!("unknown step kind {other}")),
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = args
        .split_first()
        .ok_or_else(|| "usage: check_collectives SEED STEP...".to_string())
        .and_then(|(seed, steps)| {
            let seed = seed
                .parse::<u64>()
                .map_err(|_| format!("SEED must be a number, got {seed:?}"))?;
            Ok((seed, parse_steps(steps)?))
        });
    let (seed, steps) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("check_collectives: {message}");
            std::process::exit(2);
        }
    };
    let world = match bramble::init() {
        Ok(world) => world,
        Err(error) => {
            eprintln!("check_collectives: {error}");
            std::process::exit(1);
        }
    };
    for (index, step) in steps.iter().enumerate() {
        if let Err(message) = run_step(&world, seed, index, *step) {
            eprintln!(
                "check_collectives: rank {} of {}: step {index} {} ({:?}, len {}, root {}, on {}): {message}",
                world.rank(),
                world.size(),
                KINDS[step.kind],
                step.op,
                step.len,
                step.root,
                COMMS[step.comm]
            );
            std::process::exit(1);
        }
    }
    if world.rank() == 0 {
        println!("ok: {} steps on {} ranks", steps.len(), world.size());
    }
}
