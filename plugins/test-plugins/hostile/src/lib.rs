//! Test-only plugin that misbehaves on request, for the host's limit tests.
//!
//! Parameter `mode`:
//! * `spin`: an endless CPU loop;
//! * `membomb`: allocates and touches 1 MiB chunks until memory runs out;
//! * `sleep`: sleeps for an hour (blocked in a WASI call, where epochs cannot interrupt it);
//! * `panic`: panics (with `panic = "abort"`: a trap);
//! * `big-output`: writes a 10 MiB file, `/out/big-output.bin`;
//! * `output-then-err`: writes 64 MiB in 1 MiB writes, then returns `Err` (if still running);
//! * `output-then-panic`: the same, then panics;
//! * `many-files`: creates 20000 one-byte files, `/out/many/f<n>`;
//! * `old-mtime`: writes 16 files of 1 MiB, setting each one's mtime to 2001 before writing
//!   the next (ignoring a refusal);
//! * `deep-tree`: creates nested folders `/out/deep/d/d/...`, `depth` levels (default 12000),
//!   each opened from its parent's handle, so no path is ever longer than one name;
//! * `links`: tries a symbolic link `/out/etc` to `/etc`, one to a file beside it and a hard
//!   link; returns `Ok` naming
//!   which were refused, `Err` if any was made;
//! * `sparse`: seeks to 1 TiB in `/out/sparse.bin` and writes one byte;
//! * `ok`: returns `Ok("ok")` at once;
//! * `echo`: writes param `text` to its log, stdout, stderr and progress, then returns it as
//!   its summary (a plugin that got hold of key-like text and tries to leak it);
//! * `wait-for-go`: writes `/out/started.txt`, waits (at most 10 minutes) until `/in/go`
//!   exists, then writes `/out/done.txt` and returns `Ok`: a test decides when it finishes.
//! * `state-count`: adds 1 to the typed counter `count` in its state and returns `count N`;
//! * `state-set`: stores `size` bytes (default 1) under `key` (default `k`); `Err` with the
//!   host's refusal;
//! * `state-fill`: stores values of `size` bytes under `fill-0`, `fill-1`, ... until the host
//!   refuses one; returns `Err` with how many it stored and the refusal;
//! * `state-show`: returns every key of its state with the value's length;
//! * `state-delete`: deletes `key`; says whether it was there.
//!
//! It calls no Pleo interface, so it imports only `params`, `log`, `progress` and `state`
//! (plus WASI).

use std::hint::black_box;
use std::io::{Seek, SeekFrom, Write};

use pleo_plugin::{Guest, log, params, progress, state};

/// The `size` parameter: bytes of a state value (default 1).
fn size() -> Result<usize, String> {
    params::get_or("size", "1")
        .parse()
        .map_err(|e| format!("size: {e}"))
}

struct Hostile;

impl Guest for Hostile {
    fn run() -> Result<String, String> {
        let mode = params::get_or("mode", "ok");
        log::info(format!("hostile: mode {mode}"));
        match mode.as_str() {
            "ok" => Ok("ok".into()),
            "state-count" => {
                let count = state::get_json::<u64>("count")?.unwrap_or(0) + 1;
                state::set_json("count", &count)?;
                Ok(format!("count {count}"))
            }
            "state-set" => {
                let key = params::get_or("key", "k");
                state::set(&key, &"v".repeat(size()?))?;
                Ok(format!("set {} bytes", size()?))
            }
            "state-fill" => {
                let value = "v".repeat(size()?);
                let mut n = 0;
                loop {
                    if let Err(e) = state::set(&format!("fill-{n}"), &value) {
                        return Err(format!("stored {n} values, then: {e}"));
                    }
                    n += 1;
                }
            }
            "state-show" => Ok(state::keys("")
                .iter()
                .map(|k| format!("{k}={}", state::get(k).map_or(0, |v| v.len())))
                .collect::<Vec<_>>()
                .join(" ")),
            "state-delete" => {
                let key = params::get_or("key", "k");
                Ok(format!("deleted {key}: {}", state::delete(&key)))
            }
            "echo" => {
                let text = params::get_or("text", "");
                log::warn(format!("log says {text}"));
                println!("stdout says {text}");
                eprintln!("stderr says {text}");
                progress::report(1, Some(1), format!("progress says {text}"));
                Ok(format!("summary says {text}"))
            }
            "spin" => spin(),
            "membomb" => membomb(),
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Ok("woke up after an hour".into())
            }
            "panic" => panic!("hostile plugin panics on purpose"),
            "big-output" => {
                let chunk = vec![b'x'; 1 << 20];
                let mut data = Vec::with_capacity(10 << 20);
                for _ in 0..10 {
                    data.extend_from_slice(&chunk);
                }
                std::fs::write("/out/big-output.bin", &data)
                    .map_err(|e| format!("writing /out/big-output.bin: {e}"))?;
                Ok(format!("wrote {} bytes", data.len()))
            }
            "output-then-err" => {
                let written = write_mib("/out/then-err.bin", 64);
                Err(format!("gave up after writing: {written:?}"))
            }
            "output-then-panic" => {
                let written = write_mib("/out/then-panic.bin", 64);
                panic!("panics after writing: {written:?}")
            }
            "many-files" => many_files(20_000),
            "old-mtime" => old_mtime(16),
            "deep-tree" => {
                let depth = params::get_or("depth", "12000")
                    .parse()
                    .map_err(|e| format!("depth: {e}"))?;
                raw::deep_tree(depth)
            }
            "wait-for-go" => wait_for_go(),
            "links" => raw::links(),
            "sparse" => sparse(),
            other => Err(format!(
                "unknown mode {other:?}: see the crate documentation"
            )),
        }
    }
}

fn wait_for_go() -> Result<String, String> {
    std::fs::write("/out/started.txt", "started").map_err(|e| format!("started.txt: {e}"))?;
    for _ in 0..30_000 {
        if std::fs::exists("/in/go").unwrap_or(false) {
            std::fs::write("/out/done.txt", "done").map_err(|e| format!("done.txt: {e}"))?;
            return Ok("finished after /in/go".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err("no /in/go after 10 minutes".into())
}

/// Writes `mib` MiB to `path`, 1 MiB per write; how far it got.
fn write_mib(path: &str, mib: usize) -> Result<usize, String> {
    let mut file = std::fs::File::create(path).map_err(|e| format!("creating {path}: {e}"))?;
    let chunk = vec![b'x'; 1 << 20];
    for n in 0..mib {
        file.write_all(&chunk)
            .map_err(|e| format!("{path} after {n} MiB: {e}"))?;
    }
    Ok(mib)
}

fn many_files(count: usize) -> Result<String, String> {
    std::fs::create_dir_all("/out/many").map_err(|e| format!("/out/many: {e}"))?;
    for n in 0..count {
        std::fs::write(format!("/out/many/f{n}"), b"x").map_err(|e| format!("file {n}: {e}"))?;
    }
    Ok(format!("created {count} files"))
}

fn old_mtime(files: usize) -> Result<String, String> {
    let past = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    let mut refused = 0;
    for n in 0..files {
        let path = format!("/out/old-{n}.bin");
        write_mib(&path, 1)?;
        let file = std::fs::File::options()
            .write(true)
            .open(&path)
            .map_err(|e| format!("{path}: {e}"))?;
        if file.set_modified(past).is_err() {
            refused += 1;
        }
    }
    Ok(format!("wrote {files} MiB, {refused} mtimes refused"))
}

fn sparse() -> Result<String, String> {
    let mut file =
        std::fs::File::create("/out/sparse.bin").map_err(|e| format!("sparse.bin: {e}"))?;
    file.seek(SeekFrom::Start(1 << 40))
        .map_err(|e| format!("seek: {e}"))?;
    file.write_all(b"x").map_err(|e| format!("write: {e}"))?;
    Ok("wrote one byte at 1 TiB".into())
}

/// What std does not offer, through the raw WASI bindings.
#[cfg(target_os = "wasi")]
mod raw {
    use wasip2::filesystem::types::{Descriptor, DescriptorFlags, OpenFlags, PathFlags};

    fn out() -> Result<Descriptor, String> {
        wasip2::filesystem::preopens::get_directories()
            .into_iter()
            .find(|(_, name)| name == "/out")
            .map(|(dir, _)| dir)
            .ok_or_else(|| "no /out preopen".to_owned())
    }

    fn open_dir(parent: &Descriptor, name: &str) -> Result<Descriptor, String> {
        let flags = DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY;
        parent
            .open_at(PathFlags::empty(), name, OpenFlags::DIRECTORY, flags)
            .map_err(|e| format!("opening {name}: {e:?}"))
    }

    /// One handle open at a time: each level is made and opened from its parent's handle.
    pub fn deep_tree(depth: usize) -> Result<String, String> {
        let out = out()?;
        // Nothing else here was made by this run: a second run on the same folder goes on.
        let _ = out.create_directory_at("deep");
        let mut dir = open_dir(&out, "deep")?;
        for level in 0..depth {
            if let Err(e) = dir.create_directory_at("d") {
                if e != wasip2::filesystem::types::ErrorCode::Exist {
                    return Err(format!("level {level}: {e:?}"));
                }
            }
            dir = open_dir(&dir, "d")?;
        }
        Ok(format!("{depth} levels"))
    }

    pub fn links() -> Result<String, String> {
        let out = out()?;
        let mut made = Vec::new();
        let mut refused = Vec::new();
        match out.symlink_at("/etc", "etc") {
            Ok(()) => made.push("symlink to /etc".to_owned()),
            Err(e) => refused.push(format!("symlink to /etc ({})", e.name())),
        }
        std::fs::write("/out/target.txt", b"x").map_err(|e| format!("target.txt: {e}"))?;
        // A relative link inside the folder: wasmtime-wasi alone would allow this one.
        match out.symlink_at("target.txt", "relative") {
            Ok(()) => made.push("relative symlink".to_owned()),
            Err(e) => refused.push(format!("relative symlink ({})", e.name())),
        }
        match out.link_at(PathFlags::empty(), "target.txt", &out, "hard") {
            Ok(()) => made.push("hard link".to_owned()),
            Err(e) => refused.push(format!("hard link ({})", e.name())),
        }
        if made.is_empty() {
            Ok(format!("refused: {}", refused.join(", ")))
        } else {
            Err(format!("made: {}", made.join(", ")))
        }
    }
}

/// Native builds (clippy, unit tests) have no WASI to call.
#[cfg(not(target_os = "wasi"))]
mod raw {
    pub fn deep_tree(_depth: usize) -> Result<String, String> {
        Err("needs wasm32-wasip2".into())
    }

    pub fn links() -> Result<String, String> {
        Err("needs wasm32-wasip2".into())
    }
}

fn spin() -> Result<String, String> {
    let mut counter: u64 = 0;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

fn membomb() -> Result<String, String> {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        // Touch every page so the memory is really used.
        for i in (0..chunk.len()).step_by(4096) {
            chunk[i] = (chunks.len() as u8).wrapping_add(1);
        }
        chunks.push(black_box(chunk));
    }
}

pleo_plugin::export_plugin!(Hostile);
