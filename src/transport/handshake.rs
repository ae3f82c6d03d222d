//! Proving that a new data-plane connection belongs to this job.
//!
//! The per-job secret reaches ranks only through the launcher (SSH, then
//! PMI). A connection is accepted only when both ends show they know it,
//! without ever sending it: each side sends a fresh random nonce and answers
//! the other's with HMAC-SHA256(secret, role || nonces || rank). A stranger, a
//! port scanner or a process of another job fails here and is dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// First bytes on every bramble data connection, with the protocol version.
const MAGIC: &[u8; 8] = b"BRAMBLE1";
const NONCE_LEN: usize = 16;
const MAC_LEN: usize = 32;
/// How long a half-open handshake may take before we give up on it.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The job's shared secret.
#[derive(Clone)]
pub(crate) struct Secret(Vec<u8>);

impl Secret {
    /// A fresh random secret, for a job whose launcher did not provide one.
    pub(crate) fn generate() -> Result<Secret, String> {
        let mut bytes = vec![0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
        Ok(Secret(bytes))
    }

    pub(crate) fn from_hex(text: &str) -> Result<Secret, String> {
        if text.len() < 32 || text.len() % 2 != 0 {
            return Err("the job secret must be at least 16 bytes of hex".to_string());
        }
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map(Secret)
            .map_err(|_| "the job secret is not hexadecimal".to_string())
    }

    pub(crate) fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// HMAC over the handshake transcript: who speaks, both nonces, and its rank.
    fn transcript(&self, role: &[u8], first: &[u8], second: &[u8], rank: u32) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(role);
        mac.update(first);
        mac.update(second);
        mac.update(&rank.to_le_bytes());
        mac
    }

    fn prove(&self, role: &[u8], first: &[u8], second: &[u8], rank: u32) -> [u8; MAC_LEN] {
        self.transcript(role, first, second, rank)
            .finalize()
            .into_bytes()
            .into()
    }

    /// Constant-time comparison of a peer's proof.
    fn verify(&self, role: &[u8], first: &[u8], second: &[u8], rank: u32, proof: &[u8]) -> bool {
        self.transcript(role, first, second, rank)
            .verify_slice(proof)
            .is_ok()
    }
}

/// Runs the connecting side. Returns an error when the other end is not the
/// rank we meant to reach in this job.
pub(crate) fn connect_side(
    stream: &mut TcpStream,
    secret: &Secret,
    my_rank: u32,
    their_rank: u32,
) -> Result<(), String> {
    stream
        .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let my_nonce = nonce()?;
    let mut hello = Vec::with_capacity(8 + 4 + NONCE_LEN);
    hello.extend_from_slice(MAGIC);
    hello.extend_from_slice(&my_rank.to_le_bytes());
    hello.extend_from_slice(&my_nonce);
    stream.write_all(&hello).map_err(|e| e.to_string())?;

    let mut answer = [0u8; NONCE_LEN + MAC_LEN];
    stream
        .read_exact(&mut answer)
        .map_err(|e| format!("no handshake answer: {e}"))?;
    let (their_nonce, their_proof) = answer.split_at(NONCE_LEN);
    if !secret.verify(b"acceptor", &my_nonce, their_nonce, their_rank, their_proof) {
        return Err(format!(
            "the process listening there is not rank {their_rank} of this job"
        ));
    }
    let proof = secret.prove(b"connector", their_nonce, &my_nonce, my_rank);
    stream.write_all(&proof).map_err(|e| e.to_string())?;
    stream.set_read_timeout(None).map_err(|e| e.to_string())
}

/// Runs the accepting side; returns the authenticated peer's rank.
pub(crate) fn accept_side(
    stream: &mut TcpStream,
    secret: &Secret,
    my_rank: u32,
    size: usize,
) -> Result<u32, String> {
    stream
        .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
        .map_err(|e| e.to_string())?;
    // The magic first, so garbage is refused at once rather than after a timeout.
    let mut magic = [0u8; 8];
    stream
        .read_exact(&mut magic)
        .map_err(|e| format!("incomplete greeting: {e}"))?;
    if &magic != MAGIC {
        return Err("it is not a bramble connection (bad greeting)".to_string());
    }
    let mut hello = [0u8; 4 + NONCE_LEN];
    stream
        .read_exact(&mut hello)
        .map_err(|e| format!("incomplete greeting: {e}"))?;
    let their_rank = u32::from_le_bytes([hello[0], hello[1], hello[2], hello[3]]);
    if their_rank as usize >= size {
        return Err(format!(
            "it claims to be rank {their_rank} of a {size}-rank job"
        ));
    }
    let their_nonce = &hello[4..];
    let my_nonce = nonce()?;
    let proof = secret.prove(b"acceptor", their_nonce, &my_nonce, my_rank);
    let mut answer = Vec::with_capacity(NONCE_LEN + MAC_LEN);
    answer.extend_from_slice(&my_nonce);
    answer.extend_from_slice(&proof);
    stream.write_all(&answer).map_err(|e| e.to_string())?;

    let mut their_proof = [0u8; MAC_LEN];
    stream
        .read_exact(&mut their_proof)
        .map_err(|e| format!("no proof of the job secret: {e}"))?;
    if !secret.verify(
        b"connector",
        &my_nonce,
        their_nonce,
        their_rank,
        &their_proof,
    ) {
        return Err(format!(
            "it claims to be rank {their_rank} but does not know the job secret"
        ));
    }
    stream.set_read_timeout(None).map_err(|e| e.to_string())?;
    Ok(their_rank)
}

fn nonce() -> Result<[u8; NONCE_LEN], String> {
    let mut bytes = [0u8; NONCE_LEN];
    getrandom::getrandom(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    fn pair(
        connector_secret: Secret,
        acceptor_secret: Secret,
    ) -> (Result<(), String>, Result<u32, String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let acceptor = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            accept_side(&mut stream, &acceptor_secret, 0, 4)
        });
        let mut stream = TcpStream::connect(address).unwrap();
        let connected = connect_side(&mut stream, &connector_secret, 3, 0);
        drop(stream);
        (connected, acceptor.join().unwrap())
    }

    #[test]
    fn same_secret_connects() {
        let secret = Secret::generate().unwrap();
        let (connected, accepted) = pair(secret.clone(), secret);
        assert_eq!(connected, Ok(()));
        assert_eq!(accepted, Ok(3));
    }

    #[test]
    fn different_secrets_are_refused_on_both_sides() {
        let (connected, accepted) = pair(Secret::generate().unwrap(), Secret::generate().unwrap());
        assert!(connected.is_err());
        assert!(accepted.is_err());
    }

    #[test]
    fn garbage_is_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let secret = Secret::generate().unwrap();
        let acceptor = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            accept_side(&mut stream, &secret, 0, 4)
        });
        let mut stream = TcpStream::connect(address).unwrap();
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let error = acceptor.join().unwrap().unwrap_err();
        assert!(error.contains("not a bramble connection"), "{error}");
    }

    #[test]
    fn hex_round_trip_and_bad_hex() {
        let secret = Secret::generate().unwrap();
        assert_eq!(Secret::from_hex(&secret.to_hex()).unwrap().0, secret.0);
        assert!(Secret::from_hex("zz").is_err());
        assert!(Secret::from_hex(&"g".repeat(64)).is_err());
    }
}
