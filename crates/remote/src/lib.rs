//! MPICH-style hostfiles and remote commands through the system OpenSSH.
