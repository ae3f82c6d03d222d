//! `bramble copy FILE... DEST`: sends files to every host at once over ssh
//! (`cat` into a temporary name, then renamed, keeping the mode), so a
//! half-copied program is never run.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use bramble_remote::quote::quote;

use crate::Cluster;

/// One file to send.
struct Source {
    name: String,
    mode: u32,
    data: Vec<u8>,
}

/// Copies `files` to `dest` on every host; `Ok(false)` when any copy failed.
pub fn run(cluster: &Cluster, files: &[PathBuf], dest: &str) -> Result<bool, String> {
    if files.is_empty() || dest.is_empty() {
        return Err("usage: bramble copy FILE... DEST".into());
    }
    let mut sources = Vec::new();
    for path in files {
        let data =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let metadata =
            std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let name = path
            .file_name()
            .ok_or_else(|| format!("{} is not a file", path.display()))?
            .to_string_lossy()
            .into_owned();
        sources.push(Source {
            name,
            mode: metadata.permissions().mode() & 0o7777,
            data,
        });
    }
    let must_be_dir = sources.len() > 1;
    let results = bramble_remote::ssh::parallel(&cluster.names(), |host| {
        for source in &sources {
            let output =
                cluster
                    .ssh
                    .run(host, &script(source, dest, must_be_dir), Some(&source.data));
            if let Some(failure) = output.failure() {
                let why = match output.code {
                    Some(1) => output.stderr.trim().to_string(),
                    _ => failure.explain(host),
                };
                println!("{host}: FAILED {}: {why}", source.name);
                return false;
            }
        }
        println!("{host}: copied {} file(s)", sources.len());
        true
    });
    let failed = results.iter().filter(|ok| !**ok).count();
    println!(
        "{} hosts: {} ok, {failed} failed",
        results.len(),
        results.len() - failed
    );
    Ok(failed == 0)
}

/// The remote side: pick the target name, write, set the mode, rename.
fn script(source: &Source, dest: &str, must_be_dir: bool) -> String {
    let dest = quote(dest);
    let name = quote(&source.name);
    let check = if must_be_dir {
        format!("[ -d {dest} ] || {{ echo \"{dest} is not a directory on $(hostname)\" >&2; exit 1; }}\n")
    } else {
        String::new()
    };
    format!(
        "{check}t={dest}; if [ -d \"$t\" ]; then t=\"$t\"/{name}; fi\n\
         cat > \"$t.bramble-part\" && chmod {mode:o} \"$t.bramble-part\" && mv -f \"$t.bramble-part\" \"$t\" || \
         {{ rm -f \"$t.bramble-part\"; echo \"cannot write $t on $(hostname)\" >&2; exit 1; }}\n",
        mode = source.mode
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_into_directories_and_to_file_names() {
        let dir = std::env::temp_dir().join(format!("bramble-copy-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("d")).unwrap();
        let source = Source {
            name: "it's.sh".into(),
            mode: 0o755,
            data: b"#!/bin/sh\n".to_vec(),
        };
        for (dest, expected) in [("d", "d/it's.sh"), ("f", "f")] {
            let dest = dir.join(dest).to_string_lossy().into_owned();
            let mut child = std::process::Command::new("sh")
                .args(["-c", &script(&source, &dest, false)])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&source.data).unwrap();
            assert!(child.wait().unwrap().success());
            let written = dir.join(expected);
            assert_eq!(std::fs::read(&written).unwrap(), source.data);
            assert_eq!(
                std::fs::metadata(&written).unwrap().permissions().mode() & 0o777,
                0o755
            );
        }
        let status = std::process::Command::new("sh")
            .args([
                "-c",
                &script(&source, &dir.join("f").to_string_lossy(), true),
            ])
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1), "several files need a directory");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
