//! A proxy's side of PMI-1: answer its ranks' requests, batch their barrier.
//!
//! Gets are served from the node's copy of the key/value space; puts go into
//! it and are queued for the launcher, which spreads them to every node when
//! the whole job meets in a barrier (Hydra's scheme: one message per node per
//! barrier, not one per key).

use std::collections::HashMap;

use bramble_pmi::{reply, JobFacts, Line, Request};

/// What the proxy must do after a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Write this line back to the rank.
    Reply(String),
    /// Every local rank is in the barrier: tell the launcher, with these puts.
    BarrierIn(Vec<(String, String)>),
    /// The rank asked to end the job.
    Abort { code: i32, message: String },
    /// Nothing to do yet (a rank waiting in the barrier).
    Wait,
}

/// The node's key/value space and barrier state.
pub struct Kvs {
    facts: JobFacts,
    values: HashMap<String, String>,
    unsent: Vec<(String, String)>,
    in_barrier: Vec<bool>,
}

impl Kvs {
    pub fn new(facts: JobFacts, preset: &[(String, String)], local_ranks: usize) -> Kvs {
        Kvs {
            facts,
            values: preset.iter().cloned().collect(),
            unsent: Vec::new(),
            in_barrier: vec![false; local_ranks],
        }
    }

    /// Handles one line from local rank `local`. A malformed line is an
    /// error for that rank only.
    pub fn handle(&mut self, local: usize, text: &str) -> Result<Action, String> {
        let line = Line::parse(text).map_err(|e| e.to_string())?;
        let request = Request::from_line(&line).map_err(|e| e.to_string())?;
        match &request {
            Request::Put { key, value } => {
                self.values.insert(key.clone(), value.clone());
                self.unsent.push((key.clone(), value.clone()));
            }
            Request::BarrierIn => {
                self.in_barrier[local] = true;
                if self.in_barrier.iter().all(|&b| b) {
                    return Ok(Action::BarrierIn(std::mem::take(&mut self.unsent)));
                }
                return Ok(Action::Wait);
            }
            Request::Abort { exit_code, message } => {
                return Ok(Action::Abort {
                    code: *exit_code,
                    message: message.clone().unwrap_or_default().replace('_', " "),
                })
            }
            _ => {}
        }
        let values = &self.values;
        let answer = reply(&request, &self.facts, |key| values.get(key).cloned());
        match answer {
            Some(line) => line.to_wire().map(Action::Reply).map_err(|e| e.to_string()),
            None => Ok(Action::Wait),
        }
    }

    /// The job left the barrier: learn everyone's puts; returns the reply for
    /// every local rank.
    pub fn barrier_out(&mut self, puts: Vec<(String, String)>) -> String {
        self.values.extend(puts);
        self.in_barrier.iter_mut().for_each(|b| *b = false);
        "cmd=barrier_out\n".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kvs() -> Kvs {
        let facts = JobFacts {
            kvsname: "kvs_1".into(),
            size: 2,
        };
        Kvs::new(
            facts,
            &[("PMI_process_mapping".into(), "(vector,(0,1,2))".into())],
            2,
        )
    }

    #[test]
    fn serves_presets_and_own_puts() {
        let mut kvs = kvs();
        let got = kvs
            .handle(0, "cmd=get kvsname=kvs_1 key=PMI_process_mapping\n")
            .unwrap();
        assert_eq!(
            got,
            Action::Reply("cmd=get_result rc=0 msg=success value=(vector,(0,1,2))\n".into())
        );
        kvs.handle(0, "cmd=put kvsname=kvs_1 key=a value=1\n")
            .unwrap();
        let got = kvs.handle(1, "cmd=get kvsname=kvs_1 key=a\n").unwrap();
        assert_eq!(
            got,
            Action::Reply("cmd=get_result rc=0 msg=success value=1\n".into())
        );
    }

    #[test]
    fn barrier_waits_for_all_local_ranks_and_carries_puts() {
        let mut kvs = kvs();
        kvs.handle(1, "cmd=put kvsname=kvs_1 key=b value=2\n")
            .unwrap();
        assert_eq!(kvs.handle(0, "cmd=barrier_in\n").unwrap(), Action::Wait);
        assert_eq!(
            kvs.handle(1, "cmd=barrier_in\n").unwrap(),
            Action::BarrierIn(vec![("b".into(), "2".into())])
        );
        kvs.barrier_out(vec![("remote".into(), "x".into())]);
        let got = kvs.handle(0, "cmd=get kvsname=kvs_1 key=remote\n").unwrap();
        assert_eq!(
            got,
            Action::Reply("cmd=get_result rc=0 msg=success value=x\n".into())
        );
        assert_eq!(
            kvs.handle(0, "cmd=barrier_in\n").unwrap(),
            Action::Wait,
            "barrier state was reset"
        );
    }

    #[test]
    fn abort_and_garbage() {
        let mut kvs = kvs();
        assert_eq!(
            kvs.handle(0, "cmd=abort exitcode=5 message=it_broke\n")
                .unwrap(),
            Action::Abort {
                code: 5,
                message: "it broke".into()
            }
        );
        assert!(kvs.handle(0, "garbage\n").is_err());
    }
}
