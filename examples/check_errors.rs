//! Test program: misuse that must come back as an `Err` with a helpful
//! message, never a panic or garbage: a value of the wrong type, a receive
//! buffer too small, a rank out of range, an op a type does not support,
//! mismatched lengths, and requests dropped or completed twice.
//!
//! Run: `bramble run -n 2 target/debug/examples/check_errors` (2 or more
//! ranks). Every rank prints `rank R: all error cases behaved` and exits 0,
//! or names the case that did not and exits 1.

use bramble::{Communicator, Error, Op, Request};

fn expect_err<T: std::fmt::Debug>(
    case: &str,
    result: Result<T, Error>,
    needle: &str,
) -> Result<(), String> {
    match result {
        Err(error) if error.to_string().contains(needle) => Ok(()),
        Err(error) => Err(format!(
            "{case}: error {error:?} does not mention {needle:?}"
        )),
        Ok(value) => Err(format!("{case}: expected an error, got Ok({value:?})")),
    }
}

fn cases(world: &Communicator) -> Result<(), String> {
    let (rank, size) = (world.rank(), world.size());
    let e = |error: Error| error.to_string();

    // A value of the wrong type, then the right one still arrives.
    if rank == 0 {
        world.send(&42u32, 1, 1).map_err(e)?;
        // Borrowed forms arrive as owned ones: they encode the same.
        world
            .send(&("still here", [1u8, 2].as_slice()), 1, 1)
            .map_err(e)?;
    } else if rank == 1 {
        expect_err(
            "wrong value type",
            world.recv::<String>(0, 1),
            "different type",
        )?;
        let owned: (String, Vec<u8>) = world.recv(0, 1).map_err(e)?;
        if owned != ("still here".to_string(), vec![1, 2]) {
            return Err(format!("after a type error got {owned:?}"));
        }
    }

    // A slice message too long for the buffer, and a slice received as a value.
    if rank == 0 {
        world.send_slice(&[1.5f64; 10], 1, 2).map_err(e)?;
        world.send_slice(&[7u8; 3], 1, 2).map_err(e)?;
    } else if rank == 1 {
        let mut short = [0.0f64; 5];
        expect_err(
            "short buffer",
            world.recv_into(&mut short, 0, 2),
            "pass a buffer at least",
        )?;
        if short != [0.0; 5] {
            return Err("a failed receive changed the buffer".to_string());
        }
        expect_err(
            "slice received as a value",
            world.recv::<Vec<u8>>(0, 2),
            "different type",
        )?;
    }

    // Ranks out of range, everywhere.
    expect_err(
        "send to a missing rank",
        world.send(&1, size, 0),
        "out of range",
    )?;
    expect_err(
        "recv from a missing rank",
        world.recv::<i32>(size + 3, 0),
        "out of range",
    )?;
    expect_err(
        "irecv_into from a missing rank",
        world.irecv_into(&mut [0u8; 1], size, 0).map(|_| ()),
        "out of range",
    )?;
    expect_err(
        "broadcast from a missing root",
        world.broadcast(&mut 0, size),
        "out of range",
    )?;
    expect_err(
        "gather to a missing root",
        world.gather(&0, size),
        "out of range",
    )?;

    // Ops a type does not support, and mismatched lengths: caught before sending.
    let mut out = [0.0f64; 2];
    expect_err(
        "bitwise op on floats",
        world.allreduce_slice(&[1.0, 2.0], &mut out, Op::BitXor),
        "not defined on f64",
    )?;
    expect_err(
        "length mismatch",
        world.allreduce_slice(&[1.0], &mut out, Op::Sum),
        "elements",
    )?;
    expect_err(
        "alltoall of uneven blocks",
        world.alltoall_slice(&vec![0u8; size + 1], &mut vec![0u8; size + 1]),
        "equal blocks",
    )?;
    expect_err(
        "missing root buffer",
        world.gather_slice(&[1u8], None, rank),
        "must pass Some",
    )?;

    // Collectives called with different types on different ranks.
    let mut floats = [0.0f32; 2];
    let mut integers = [0u32; 2];
    let result = match rank {
        0 => world.broadcast_slice(&mut integers, 0),
        _ => world.broadcast_slice(&mut floats, 0),
    };
    if rank == 0 {
        result.map_err(e)?;
    } else {
        expect_err("broadcast with another type", result, "different type")?;
    }

    // A receive request dropped early leaves its message for later receives,
    // even when the message had already been matched to it: the barrier's
    // first signal from `previous` travels behind the message, so the message
    // is matched to the posted request while the barrier waits.
    let next = (rank + 1) % size;
    let previous = (rank + size - 1) % size;
    let mut early = [0u16; 4];
    let request = world.irecv_into(&mut early, previous, 3).map_err(e)?;
    world.send_slice(&[1u16, 2], next, 3).map_err(e)?;
    world.barrier().map_err(e)?;
    drop(request);
    if early != [0; 4] {
        return Err(format!(
            "a dropped request wrote into its buffer: {early:?}"
        ));
    }
    let mut buffer = [0u16; 4];
    world.recv_into(&mut buffer, previous, 3).map_err(e)?;
    if buffer != [1, 2, 0, 0] {
        return Err(format!(
            "the message of a dropped request was lost: got {buffer:?}"
        ));
    }

    // test() until done; testing again is an error.
    world.send_slice(&[9u16, 8, 7], next, 4).map_err(e)?;
    let mut request = world.irecv_into(&mut buffer, previous, 4).map_err(e)?;
    let status = loop {
        if let Some(status) = request.test().map_err(e)? {
            break status;
        }
    };
    expect_err("test after completion", request.test(), "already completed")?;
    drop(request);
    if (status.count::<u16>(), buffer) != (3, [9, 8, 7, 0]) {
        return Err(format!("test() completed with {buffer:?}"));
    }
    let mut none: Vec<Request<'static, ()>> = Vec::new();
    expect_err(
        "wait_any on no requests",
        Request::wait_any(&mut none),
        "at least one request",
    )?;
    world.barrier().map_err(e)?;
    Ok(())
}

fn main() {
    let world = match bramble::init() {
        Ok(world) => world,
        Err(error) => {
            eprintln!("check_errors: {error}");
            std::process::exit(1);
        }
    };
    if world.size() < 2 {
        eprintln!("check_errors: run it on 2 or more ranks");
        std::process::exit(2);
    }
    match cases(&world) {
        Ok(()) => println!("rank {}: all error cases behaved", world.rank()),
        Err(message) => {
            eprintln!("check_errors: rank {}: {message}", world.rank());
            std::process::exit(1);
        }
    }
}
