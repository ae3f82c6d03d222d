//! The shared-memory transport between two real endpoints: two threads (or
//! a thread and a child process) joined by a loopback connection, as
//! bootstrap joins ranks on one host.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::ShmTransport;
use crate::engine::{Engine, Pattern};
use crate::error::Error;
use crate::transport::Transport;

const CONTEXT: u32 = 9;

/// An engine of a 2-rank job whose only peer is reached through `stream`.
fn engine(rank: usize, stream: TcpStream, enabled: bool) -> Engine {
    let peer = 1 - rank;
    let established = ShmTransport::establish(rank, 2, vec![(peer, stream)], enabled)
        .expect("shared-memory setup");
    assert!(
        established.fallback.is_empty(),
        "the pair must share memory"
    );
    let transports: Vec<Box<dyn Transport>> = vec![Box::new(established.shm)];
    let mut route = vec![Some(0); 2];
    route[rank] = None;
    Engine::new(rank, 2, transports, route)
}

/// Runs `rank0` and `rank1` in two threads, each with its engine.
fn pair(rank0: impl FnOnce(Engine) + Send + 'static, rank1: impl FnOnce(Engine) + Send + 'static) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let address = listener.local_addr().expect("address");
    let first = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        rank0(engine(0, stream, true));
    });
    let stream = TcpStream::connect(address).expect("connect");
    rank1(engine(1, stream, true));
    first.join().expect("rank 0 thread");
}

fn receive(engine: &mut Engine, source: usize, tag: u32) -> crate::error::Result<Vec<u8>> {
    let id = engine.post(Pattern {
        context: CONTEXT,
        source: Some(source),
        tag: Some(tag),
    });
    let mut message = engine.wait(id)?;
    message.fetch()?;
    Ok(message.payload)
}

fn pattern(size: usize, seed: u8) -> Vec<u8> {
    (0..size)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Sizes around the ring's edges and the lending threshold.
const SIZES: &[usize] = &[
    0,
    1,
    31,
    32,
    4096,
    65535,
    65536,
    262_112,
    262_144,
    300_000,
    1 << 20,
];

#[test]
fn messages_of_every_size_arrive_whole_and_in_order() {
    pair(
        |mut engine| {
            for (round, &size) in SIZES.iter().cycle().take(3 * SIZES.len()).enumerate() {
                let got = receive(&mut engine, 1, 5).expect("receive");
                assert_eq!(
                    got,
                    pattern(size, round as u8),
                    "message {round} of {size} bytes"
                );
            }
        },
        |mut engine| {
            for (round, &size) in SIZES.iter().cycle().take(3 * SIZES.len()).enumerate() {
                let data = pattern(size, round as u8);
                // Alternate copied and lent sends; both keep the order.
                engine
                    .send(0, CONTEXT, 5, 0, &data, round % 2 == 0)
                    .expect("send");
                engine.wait_flushed(0).expect("flush");
            }
        },
    );
}

#[test]
fn small_messages_keep_their_order_across_fastbox_and_ring() {
    // Sent faster than they are read, small messages take the fastbox when
    // it is free and the ring otherwise: their order must not change.
    const COUNT: u32 = 20_000;
    pair(
        |mut engine| {
            for expected in 0..COUNT {
                let got = receive(&mut engine, 1, 4).expect("receive");
                let number = u32::from_le_bytes(got[..4].try_into().expect("4 bytes"));
                assert_eq!(number, expected);
                assert_eq!(got.len(), 4 + (expected % 50) as usize);
            }
        },
        |mut engine| {
            for number in 0..COUNT {
                let mut message = number.to_le_bytes().to_vec();
                message.resize(4 + (number % 50) as usize, 0xab);
                engine
                    .send(0, CONTEXT, 4, 0, &message, false)
                    .expect("send");
                engine.progress().expect("progress");
            }
            engine.wait_flushed(0).expect("flush");
        },
    );
}

#[test]
fn both_ranks_sending_large_messages_at_once_do_not_deadlock() {
    let exchange = |rank: usize| {
        move |mut engine: Engine| {
            let mine = pattern(3 << 20, rank as u8);
            let id = engine.post(Pattern {
                context: CONTEXT,
                source: Some(1 - rank),
                tag: Some(1),
            });
            engine
                .send(1 - rank, CONTEXT, 1, 0, &mine, false)
                .expect("send");
            let mut got = engine.wait(id).expect("receive");
            got.fetch().expect("fetch");
            engine.wait_flushed(1 - rank).expect("flush");
            assert_eq!(got.payload, pattern(3 << 20, 1 - rank as u8));
        }
    };
    pair(exchange(0), exchange(1));
}

#[test]
fn a_lent_message_completes_its_send_only_once_read() {
    pair(
        |mut engine| {
            // Let the sender wait a while for us to read.
            thread::sleep(Duration::from_millis(100));
            let id = engine.post(Pattern {
                context: CONTEXT,
                source: Some(1),
                tag: Some(2),
            });
            let message = engine.wait(id).expect("receive");
            assert!(message.lent.is_some(), "a 1 MiB message is lent");
            let mut out = vec![0u8; message.len()];
            message.copy_into(&mut out).expect("copy");
            assert_eq!(out, pattern(1 << 20, 7));
        },
        |mut engine| {
            let data = pattern(1 << 20, 7);
            engine.send(0, CONTEXT, 2, 0, &data, true).expect("send");
            assert!(!engine.is_flushed(0).expect("alive"), "not read yet");
            engine.wait_flushed(0).expect("read by the receiver");
        },
    );
}

#[test]
fn a_sleeping_receiver_is_woken_at_once() {
    pair(
        |mut engine| {
            let got = receive(&mut engine, 1, 3).expect("receive");
            let sent_at = u128::from_le_bytes(got.try_into().expect("16 bytes"));
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_micros();
            // Without the doorbell only the engine's 200 ms poll timeout
            // would wake the receiver.
            assert!(now - sent_at < 150_000, "woken after {} us", now - sent_at);
        },
        |mut engine| {
            thread::sleep(Duration::from_millis(300));
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_micros();
            engine
                .send(0, CONTEXT, 3, 0, &now.to_le_bytes(), false)
                .expect("send");
            engine.wait_flushed(0).expect("flush");
        },
    );
}

#[test]
fn pairs_without_shared_memory_stay_on_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let address = listener.local_addr().expect("address");
    let other = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let links = ShmTransport::establish(0, 2, vec![(1, stream)], true).expect("setup");
        links.fallback.len()
    });
    let stream = TcpStream::connect(address).expect("connect");
    let links = ShmTransport::establish(1, 2, vec![(0, stream)], false).expect("setup");
    assert_eq!(links.fallback.len(), 1, "disabled here");
    assert_eq!(other.join().expect("thread"), 1, "and so for the peer too");
}

/// Set in the child process of the test below: the port to connect to.
const CHILD_ENV: &str = "BRAMBLE_SHM_TEST_DYING_PEER";

/// A peer process that dies (SIGKILL) after one whole message, one lent
/// message and half of a large one: the survivor gets the whole message, then
/// errors, never garbage and never a hang.
#[test]
fn a_peer_killed_in_the_middle_of_a_message_is_an_error() {
    if let Ok(port) = std::env::var(CHILD_ENV) {
        dying_peer(&port);
        return;
    }
    // A hang is the failure this test looks for: end it loudly.
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(30));
        eprintln!("the survivor hung waiting for a dead peer");
        std::process::abort();
    });
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("address").port();
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "transport::shm::tests::a_peer_killed_in_the_middle_of_a_message_is_an_error",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD_ENV, port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the peer");
    let (stream, _) = listener.accept().expect("accept");
    let mut engine = engine(0, stream, true);
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let ready = lines.find(|line| line.as_deref().is_ok_and(|l| l == "half-sent"));
    assert!(ready.is_some(), "the peer did not get to send");
    child.kill().expect("kill the peer");
    child.wait().expect("reap the peer");

    assert_eq!(
        receive(&mut engine, 1, 1).expect("the whole message"),
        b"whole"
    );
    let started = Instant::now();
    let lent = receive(&mut engine, 1, 2);
    assert!(
        matches!(&lent, Err(Error::PeerLost { reason, .. }) if reason.contains("ended")),
        "{lent:?}"
    );
    let half = receive(&mut engine, 1, 3);
    assert!(
        matches!(&half, Err(Error::PeerLost { reason, .. }) if reason.contains("middle")),
        "{half:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

fn dying_peer(port: &str) {
    let stream = TcpStream::connect(format!("127.0.0.1:{port}")).expect("connect");
    let mut engine = engine(1, stream, true);
    engine
        .send(0, CONTEXT, 1, 0, b"whole", false)
        .expect("send");
    let lent = pattern(1 << 20, 1);
    engine
        .send(0, CONTEXT, 2, 0, &lent, true)
        .expect("send lent");
    // Larger than the ring: only part of it can be written before we die.
    let big = pattern(1 << 20, 2);
    engine.send(0, CONTEXT, 3, 0, &big, false).expect("send");
    engine.progress().expect("progress");
    println!("half-sent");
    thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_direct_receive_takes_only_the_next_frame_and_only_when_nothing_waits() {
    let tagged = |tag: u32| Pattern {
        context: CONTEXT,
        source: Some(1),
        tag: Some(tag),
    };
    pair(
        move |mut engine| {
            let mut buffer = [0u8; 16];
            // The first frame is "first" (tag 1): a direct receive of tag 2
            // must not take it, nor skip it.
            let deadline = Instant::now() + Duration::from_secs(10);
            while engine
                .receive_direct(tagged(1), 0, 1, &mut buffer)
                .is_none()
            {
                assert!(Instant::now() < deadline, "the first message never came");
            }
            assert_eq!(&buffer[..5], b"first");
            thread::sleep(Duration::from_millis(50));
            assert_eq!(engine.receive_direct(tagged(3), 0, 1, &mut buffer), None);
            assert_eq!(receive(&mut engine, 1, 3).expect("tag 3"), b"third");
            engine
                .send(1, CONTEXT, 5, 0, b"go", false)
                .expect("send go");
            engine.wait_flushed(1).expect("flush");
            thread::sleep(Duration::from_millis(50));
            // "second" (tag 2) waits in the unexpected queue; "fourth", also
            // tag 2, is next on the link: taking it directly would overtake.
            assert_eq!(engine.receive_direct(tagged(2), 0, 1, &mut buffer), None);
            assert_eq!(receive(&mut engine, 1, 2).expect("tag 2"), b"second");
            // A payload larger than the buffer, or of another type, is left
            // for the usual receive to report.
            let mut small = [0u8; 2];
            assert_eq!(engine.receive_direct(tagged(2), 0, 1, &mut small), None);
            assert_eq!(engine.receive_direct(tagged(2), 99, 1, &mut buffer), None);
            assert_eq!(receive(&mut engine, 1, 2).expect("tag 2"), b"fourth");
        },
        |mut engine| {
            for (tag, text) in [(1, "first"), (2, "second"), (3, "third"), (2, "fourth")] {
                if text == "fourth" {
                    // Only once "second" sits in the receiver's engine.
                    receive(&mut engine, 0, 5).expect("go");
                }
                engine
                    .send(0, CONTEXT, tag, 0, text.as_bytes(), false)
                    .expect("send");
                engine.wait_flushed(0).expect("flush");
            }
        },
    );
}
