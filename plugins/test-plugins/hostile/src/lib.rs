//! Test-only plugin that misbehaves on request, for the host's limit tests.
//!
//! Parameter `mode`:
//! * `spin`: an endless CPU loop;
//! * `membomb`: allocates and touches 1 MiB chunks until memory runs out;
//! * `sleep`: sleeps for an hour (blocked in a WASI call, where epochs cannot interrupt it);
//! * `panic`: panics (with `panic = "abort"`: a trap);
//! * `big-output`: writes a 10 MiB file, `/out/big-output.bin`;
//! * `ok`: returns `Ok("ok")` at once.
//!
//! It calls no Pleo interface, so it imports only `params` and `log` (plus WASI).

use std::hint::black_box;

use pleo_plugin::{Guest, log, params};

struct Hostile;

impl Guest for Hostile {
    fn run() -> Result<String, String> {
        let mode = params::get_or("mode", "ok");
        log::info(format!("hostile: mode {mode}"));
        match mode.as_str() {
            "ok" => Ok("ok".into()),
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
            other => Err(format!(
                "unknown mode {other:?}: use spin, membomb, sleep, panic, ok or big-output"
            )),
        }
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
