//! Multi-host test bed built from Linux namespaces.
