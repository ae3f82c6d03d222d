//! Cluster management commands: setup, doctor, exec, copy, status.
