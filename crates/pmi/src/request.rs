//! What a rank asks its process manager, and how the manager answers.
//!
//! The command set is MPICH's PMI-1.1 (`src/pmi/maint/pmi-1.1.txt`); the
//! reply spellings follow Hydra's proxy byte for byte (`rc=0 msg=success`
//! where Hydra sends them) because MPICH's client checks the reply's command
//! name and `rc`.

use crate::wire::Line;
use crate::PmiError;

/// The limits a server announces in `maxes`; the values Hydra uses.
pub const KVSNAME_MAX: usize = 256;
pub const KEYLEN_MAX: usize = 64;
pub const VALLEN_MAX: usize = 1024;

/// A request from a rank to the process manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Init {
        version: i64,
        subversion: i64,
    },
    GetMaxes,
    GetAppnum,
    GetUniverseSize,
    GetMyKvsname,
    Put {
        key: String,
        value: String,
    },
    Get {
        key: String,
    },
    BarrierIn,
    Finalize,
    Abort {
        exit_code: i32,
        message: Option<String>,
    },
    /// Anything we do not serve (spawn, publish_name, ...): answered with an error reply.
    Unsupported {
        command: String,
    },
}

impl Request {
    /// Interprets a parsed line as a request.
    pub fn from_line(line: &Line) -> Result<Request, PmiError> {
        Ok(match line.command.as_str() {
            "init" => Request::Init {
                version: line.require_int("pmi_version")?,
                subversion: line.require_int("pmi_subversion")?,
            },
            "get_maxes" => Request::GetMaxes,
            "get_appnum" => Request::GetAppnum,
            "get_universe_size" => Request::GetUniverseSize,
            "get_my_kvsname" => Request::GetMyKvsname,
            "put" => Request::Put {
                key: line.require("key")?.to_string(),
                value: line.require("value")?.to_string(),
            },
            "get" => Request::Get {
                key: line.require("key")?.to_string(),
            },
            "barrier_in" => Request::BarrierIn,
            "finalize" => Request::Finalize,
            "abort" => Request::Abort {
                exit_code: match line.get("exitcode") {
                    Some(_) => i32::try_from(line.require_int("exitcode")?).map_err(|_| {
                        PmiError::Malformed("abort exitcode out of range".to_string())
                    })?,
                    None => 1,
                },
                message: line.get("message").map(str::to_string),
            },
            other => Request::Unsupported {
                command: other.to_string(),
            },
        })
    }

    /// The wire line a client sends for this request, within job `kvsname`.
    pub fn to_line(&self, kvsname: &str) -> Line {
        match self {
            Request::Init {
                version,
                subversion,
            } => Line::new("init")
                .with("pmi_version", version)
                .with("pmi_subversion", subversion),
            Request::GetMaxes => Line::new("get_maxes"),
            Request::GetAppnum => Line::new("get_appnum"),
            Request::GetUniverseSize => Line::new("get_universe_size"),
            Request::GetMyKvsname => Line::new("get_my_kvsname"),
            Request::Put { key, value } => Line::new("put")
                .with("kvsname", kvsname)
                .with("key", key)
                .with("value", value),
            Request::Get { key } => Line::new("get").with("kvsname", kvsname).with("key", key),
            Request::BarrierIn => Line::new("barrier_in"),
            Request::Finalize => Line::new("finalize"),
            Request::Abort { exit_code, message } => {
                let line = Line::new("abort").with("exitcode", exit_code);
                match message {
                    Some(text) => line.with("message", text),
                    None => line,
                }
            }
            Request::Unsupported { command } => Line::new(command),
        }
    }
}

/// The reply to a request. `None` for requests that get no reply (abort).
///
/// `lookup` answers a `get`: `Some(value)` or `None` when the key is unknown.
pub fn reply(
    request: &Request,
    job: &JobFacts,
    lookup: impl FnOnce(&str) -> Option<String>,
) -> Option<Line> {
    Some(match request {
        Request::Init { .. } => Line::new("response_to_init")
            .with("pmi_version", 1)
            .with("pmi_subversion", 1)
            .with("rc", 0),
        Request::GetMaxes => Line::new("maxes")
            .with("kvsname_max", KVSNAME_MAX)
            .with("keylen_max", KEYLEN_MAX)
            .with("vallen_max", VALLEN_MAX),
        Request::GetAppnum => Line::new("appnum").with("appnum", 0),
        Request::GetUniverseSize => Line::new("universe_size").with("size", job.size),
        Request::GetMyKvsname => Line::new("my_kvsname").with("kvsname", &job.kvsname),
        Request::Put { .. } => Line::new("put_result").with("rc", 0).with("msg", "success"),
        Request::Get { key } => match lookup(key) {
            Some(value) => Line::new("get_result")
                .with("rc", 0)
                .with("msg", "success")
                .with("value", value),
            None => Line::new("get_result")
                .with("rc", -1)
                .with("msg", "key_not_found")
                .with("value", "unknown"),
        },
        Request::BarrierIn => Line::new("barrier_out"),
        Request::Finalize => Line::new("finalize_ack"),
        Request::Abort { .. } => return None,
        Request::Unsupported { command } => Line::new(&format!("{command}_result"))
            .with("rc", -1)
            .with("msg", "not_supported_by_bramble"),
    })
}

/// The job-wide facts a server needs to answer requests.
#[derive(Debug, Clone)]
pub struct JobFacts {
    pub kvsname: String,
    pub size: usize,
}

/// Hydra's `PMI_process_mapping` value: which node each rank lives on.
///
/// `nodes_ranks[i]` is how many consecutive ranks node `i` holds (block
/// mapping). Runs of equal counts are folded into one `(start,count,ppn)`
/// triple, as Hydra does, so MPICH's parser sees what it expects.
pub fn process_mapping(nodes_ranks: &[usize]) -> String {
    let mut blocks: Vec<(usize, usize, usize)> = Vec::new();
    for (node, &ranks) in nodes_ranks.iter().enumerate() {
        match blocks.last_mut() {
            Some((_, count, ppn)) if *ppn == ranks => *count += 1,
            _ => blocks.push((node, 1, ranks)),
        }
    }
    let inner: Vec<String> = blocks
        .iter()
        .map(|(start, count, ppn)| format!("({start},{count},{ppn})"))
        .collect();
    format!("(vector,{})", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> JobFacts {
        JobFacts {
            kvsname: "kvs_7".into(),
            size: 4,
        }
    }

    #[test]
    fn every_mpich_init_request_gets_hydras_reply() {
        let cases = [
            (
                "cmd=init pmi_version=1 pmi_subversion=1",
                "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n",
            ),
            (
                "cmd=get_maxes",
                "cmd=maxes kvsname_max=256 keylen_max=64 vallen_max=1024\n",
            ),
            ("cmd=get_appnum", "cmd=appnum appnum=0\n"),
            ("cmd=get_my_kvsname", "cmd=my_kvsname kvsname=kvs_7\n"),
            ("cmd=get_universe_size", "cmd=universe_size size=4\n"),
            (
                "cmd=put kvsname=kvs_7 key=a value=b",
                "cmd=put_result rc=0 msg=success\n",
            ),
            ("cmd=barrier_in", "cmd=barrier_out\n"),
            ("cmd=finalize", "cmd=finalize_ack\n"),
        ];
        for (ask, answer) in cases {
            let request = Request::from_line(&Line::parse(ask).unwrap()).unwrap();
            let got = reply(&request, &facts(), |_| None).unwrap();
            assert_eq!(got.to_wire().unwrap(), answer, "reply to {ask}");
        }
    }

    #[test]
    fn get_reports_found_and_missing_keys() {
        let request = Request::from_line(&Line::parse("cmd=get kvsname=k key=x").unwrap()).unwrap();
        let found = reply(&request, &facts(), |_| Some("v".into())).unwrap();
        assert_eq!(
            found.to_wire().unwrap(),
            "cmd=get_result rc=0 msg=success value=v\n"
        );
        let missing = reply(&request, &facts(), |_| None).unwrap();
        assert_eq!(missing.get("rc"), Some("-1"));
    }

    #[test]
    fn abort_defaults_and_gets_no_reply() {
        let request = Request::from_line(&Line::parse("cmd=abort").unwrap()).unwrap();
        assert_eq!(
            request,
            Request::Abort {
                exit_code: 1,
                message: None
            }
        );
        assert!(reply(&request, &facts(), |_| None).is_none());
        let bad = Line::parse("cmd=abort exitcode=99999999999").unwrap();
        assert!(Request::from_line(&bad).is_err());
    }

    #[test]
    fn missing_mandatory_attributes_are_errors() {
        for bad in ["cmd=put key=a", "cmd=get", "cmd=init pmi_version=1"] {
            assert!(
                Request::from_line(&Line::parse(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn unsupported_commands_get_an_error_reply() {
        let request =
            Request::from_line(&Line::parse("cmd=publish_name service=s port=p").unwrap()).unwrap();
        let answer = reply(&request, &facts(), |_| None).unwrap();
        assert_eq!(answer.command, "publish_name_result");
        assert_eq!(answer.get("rc"), Some("-1"));
    }

    #[test]
    fn process_mapping_matches_hydra() {
        assert_eq!(process_mapping(&[4]), "(vector,(0,1,4))");
        assert_eq!(process_mapping(&[2, 2, 2]), "(vector,(0,3,2))");
        assert_eq!(process_mapping(&[2, 2, 1]), "(vector,(0,2,2),(2,1,1))");
    }
}
