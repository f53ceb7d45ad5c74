//! Test-only plugin for the key-isolation tests: it gathers everything it can see and reports
//! it on every channel it has, so a test can check that the key appears on none of them.
//!
//! It first calls `users-read::list-employees` once, so that the host really uses the key
//! during the run, then gathers (all bounded, see the constants):
//! * environment variables, arguments, current directory, parameters, WASI preopens;
//! * a recursive listing of `/`, `.`, every preopen and every path in the parameter
//!   `probe-paths` (comma separated), and the contents of every file it can read there;
//! * escape attempts.
//!
//! Output, as JSON: `{env, args, cwd, params, preopens, listing, files: [{path, bytes,
//! content}], attempts: [{attempt, ok, detail}]}`, where `ok` means the operation succeeded.
//! The attempts, in order:
//! * `pleo list-employees`: the page (`ok`) or the error;
//! * `list <root>` for each listed root;
//! * `read <path>` for `/etc/passwd`, `/proc/self/environ`, `/out/..`, `..` and each probe path
//!   (as a directory, else as a file);
//! * `tcp-connect 127.0.0.1:<mock-port>` (parameter `mock-port`; only ever loopback);
//! * `udp-bind 127.0.0.1:0` and `dns-lookup localhost`.
//!
//! It writes the JSON to `/out/snoop.json`, stdout, stderr and the log (in chunks), and returns
//! it, truncated, as the `ok` summary of `run`.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use pleo_plugin::users_read::{self, EmployeeQuery};
use pleo_plugin::{Guest, PageRequest, company, log, params};
use serde::Serialize;

/// Most directory entries listed in total.
const MAX_ENTRIES: usize = 5_000;
/// Deepest directory level listed below a root.
const MAX_DEPTH: usize = 12;
/// Most files whose contents are read, bytes read per file and bytes read in total.
const MAX_FILES: usize = 500;
const MAX_FILE_BYTES: u64 = 64 * 1024;
const MAX_TOTAL_BYTES: usize = 8 * 1024 * 1024;
/// Longest `ok` summary and log line.
const MAX_SUMMARY: usize = 16 * 1024;
const LOG_CHUNK: usize = 8 * 1024;

#[derive(Default, Serialize)]
struct Findings {
    env: Vec<(String, String)>,
    args: Vec<String>,
    cwd: String,
    params: Vec<(String, String)>,
    preopens: Vec<String>,
    /// `path/` for directories, `path (N bytes)` for the rest.
    listing: Vec<String>,
    files: Vec<FileSeen>,
    attempts: Vec<Attempt>,
}

#[derive(Serialize)]
struct FileSeen {
    path: String,
    /// Bytes read (at most `MAX_FILE_BYTES`).
    bytes: usize,
    /// The bytes read, as UTF-8 with invalid sequences replaced.
    content: String,
}

#[derive(Serialize)]
struct Attempt {
    attempt: String,
    ok: bool,
    detail: String,
}

struct Snoop;

impl Guest for Snoop {
    fn run() -> Result<String, String> {
        // First, so that whatever the host does with the key has happened before the search.
        let mut pleo_calls = vec![list_employees(), get_missing_employee()];
        // Param `company`: try to act for another company (multi-entity keys).
        if let Some(other) = params::get("company") {
            let switched = match company::use_company(&other) {
                Ok(()) => attempt(format!("use-company {other}"), true, "switched"),
                Err(e) => attempt(format!("use-company {other}"), false, e),
            };
            let ok = switched.ok;
            pleo_calls.push(switched);
            if ok {
                let mut after = list_employees();
                after.attempt = "pleo list-employees after use-company".into();
                pleo_calls.push(after);
            }
        }
        let mut f = Findings {
            env: std::env::vars_os()
                .map(|(k, v)| (lossy(&k), lossy(&v)))
                .collect(),
            args: std::env::args_os().map(|a| lossy(&a)).collect(),
            cwd: match std::env::current_dir() {
                Ok(dir) => dir.display().to_string(),
                Err(e) => format!("error: {e}"),
            },
            params: params::all(),
            preopens: preopens(),
            attempts: pleo_calls,
            ..Findings::default()
        };
        let probe_paths: Vec<String> = params::get_or("probe-paths", "")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();

        let mut roots: Vec<String> = vec!["/".into(), ".".into()];
        roots.extend(f.preopens.iter().cloned());
        roots.extend(probe_paths.iter().cloned());
        roots.sort();
        roots.dedup();
        let mut budget = Budget::default();
        for root in &roots {
            walk(Path::new(root), 0, &mut f, &mut budget);
        }

        let mut targets: Vec<String> = ["/etc/passwd", "/proc/self/environ", "/out/..", ".."]
            .map(String::from)
            .to_vec();
        targets.extend(probe_paths);
        for target in &targets {
            f.attempts.push(read_anything(Path::new(target)));
        }
        // Every folder it was given but /out must refuse changes: create, overwrite, remove.
        for root in f.preopens.iter().filter(|p| p.as_str() != "/out") {
            f.attempts.extend(write_anything(Path::new(root)));
        }
        f.attempts.push(match params::get("mock-port") {
            Some(port) => tcp_probe(&port),
            None => attempt(
                "tcp-connect 127.0.0.1",
                false,
                "skipped: no mock-port param",
            ),
        });
        f.attempts
            .push(outcome("udp-bind 127.0.0.1:0", net::udp_bind_loopback()));
        f.attempts
            .push(outcome("dns-lookup localhost", net::lookup("localhost")));

        let json = serde_json::to_string_pretty(&f).map_err(|e| e.to_string())?;
        let written = fs::write("/out/snoop.json", &json);
        println!("{json}");
        eprintln!("{json}");
        for chunk in chunks(&json, LOG_CHUNK) {
            log::info(chunk);
        }
        written.map_err(|e| format!("writing /out/snoop.json: {e}"))?;
        Ok(chunks(&json, MAX_SUMMARY)
            .next()
            .unwrap_or_default()
            .to_owned())
    }
}

fn attempt(what: impl Into<String>, ok: bool, detail: impl ToString) -> Attempt {
    Attempt {
        attempt: what.into(),
        ok,
        detail: detail.to_string(),
    }
}

fn outcome(what: &str, result: Result<String, String>) -> Attempt {
    match result {
        Ok(detail) => attempt(what, true, detail),
        Err(detail) => attempt(what, false, detail),
    }
}

fn lossy(s: &std::ffi::OsStr) -> String {
    s.to_string_lossy().into_owned()
}

/// The names of the directories the host preopened.
fn preopens() -> Vec<String> {
    #[cfg(target_os = "wasi")]
    {
        wasip2::filesystem::preopens::get_directories()
            .into_iter()
            .map(|(_, name)| name)
            .collect()
    }
    #[cfg(not(target_os = "wasi"))]
    {
        Vec::new()
    }
}

#[derive(Default)]
struct Budget {
    entries: usize,
    files: usize,
    bytes: usize,
}

/// Lists `dir` recursively into `f.listing` and reads the files in it into `f.files`.
fn walk(dir: &Path, depth: usize, f: &mut Findings, budget: &mut Budget) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            if depth == 0 {
                f.attempts
                    .push(attempt(format!("list {}", dir.display()), false, e));
            }
            return;
        }
    };
    if depth == 0 {
        f.attempts
            .push(attempt(format!("list {}", dir.display()), true, "listed"));
    }
    for entry in entries {
        if budget.entries >= MAX_ENTRIES {
            return;
        }
        budget.entries += 1;
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                f.listing.push(format!("{}/<error: {e}>", dir.display()));
                continue;
            }
        };
        let path = entry.path();
        // Does not follow symlinks, so a link cannot make the walk loop.
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            f.listing.push(format!("{}/", path.display()));
            if depth < MAX_DEPTH {
                walk(&path, depth + 1, f, budget);
            }
        } else {
            let size = entry.metadata().map_or(0, |m| m.len());
            f.listing.push(format!("{} ({size} bytes)", path.display()));
            read_file(path, f, budget);
        }
    }
}

fn read_file(path: PathBuf, f: &mut Findings, budget: &mut Budget) {
    if budget.files >= MAX_FILES || budget.bytes >= MAX_TOTAL_BYTES {
        return;
    }
    let mut bytes = Vec::new();
    let read =
        fs::File::open(&path).and_then(|file| file.take(MAX_FILE_BYTES).read_to_end(&mut bytes));
    if read.is_ok() {
        budget.files += 1;
        budget.bytes += bytes.len();
        f.files.push(FileSeen {
            path: path.display().to_string(),
            bytes: bytes.len(),
            content: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
}

/// Reads `path` as a directory, or else as a file.
/// Tries to create a file in `dir`, to overwrite and to remove the first file there, and to
/// create a folder; each attempt says whether it worked.
fn write_anything(dir: &Path) -> Vec<Attempt> {
    let mut attempts = Vec::new();
    let new = dir.join("snoop-wrote-here");
    let created = fs::write(&new, b"snoop");
    attempts.push(attempt(
        format!("write {}", new.display()),
        created.is_ok(),
        created.err().map_or("created".into(), |e| e.to_string()),
    ));
    let first = fs::read_dir(dir).ok().and_then(|mut entries| {
        entries
            .find_map(|e| e.ok().filter(|e| e.path().is_file()))
            .map(|e| e.path())
    });
    if let Some(file) = first {
        let overwritten = fs::write(&file, b"snoop");
        attempts.push(attempt(
            format!("overwrite {}", file.display()),
            overwritten.is_ok(),
            overwritten
                .err()
                .map_or("overwritten".into(), |e| e.to_string()),
        ));
        let removed = fs::remove_file(&file);
        attempts.push(attempt(
            format!("remove {}", file.display()),
            removed.is_ok(),
            removed.err().map_or("removed".into(), |e| e.to_string()),
        ));
    }
    let folder = dir.join("snoop-dir");
    let made = fs::create_dir(&folder);
    attempts.push(attempt(
        format!("mkdir {}", folder.display()),
        made.is_ok(),
        made.err().map_or("made".into(), |e| e.to_string()),
    ));
    attempts
}

fn read_anything(path: &Path) -> Attempt {
    let what = format!("read {}", path.display());
    match fs::read_dir(path) {
        Ok(entries) => {
            let names: Vec<String> = entries
                .take(200)
                .map(|e| match e {
                    Ok(e) => lossy(&e.file_name()),
                    Err(e) => format!("<error: {e}>"),
                })
                .collect();
            attempt(what, true, format!("directory: {}", names.join(" ")))
        }
        Err(dir_err) => {
            let mut bytes = Vec::new();
            let read = fs::File::open(path)
                .and_then(|file| file.take(MAX_FILE_BYTES).read_to_end(&mut bytes));
            match read {
                Ok(_) => attempt(what, true, String::from_utf8_lossy(&bytes)),
                Err(e) => attempt(
                    what,
                    false,
                    format!("as directory: {dir_err}; as file: {e}"),
                ),
            }
        }
    }
}

/// Connects to `127.0.0.1:<port>`; any other address is refused here, never tried.
fn tcp_probe(port: &str) -> Attempt {
    let what = format!("tcp-connect 127.0.0.1:{port}");
    match port.trim().parse::<u16>() {
        Ok(port) => outcome(&what, net::tcp_connect_loopback(port)),
        Err(e) => attempt(what, false, format!("skipped: bad mock-port: {e}")),
    }
}

fn list_employees() -> Attempt {
    let query = EmployeeQuery {
        email: None,
        code: None,
    };
    let page = PageRequest::first(1);
    match users_read::list_employees(&query, &page) {
        Ok(page) => attempt(
            "pleo list-employees",
            true,
            format!("total {:?}, data {}", page.total, page.data),
        ),
        Err(e) => attempt("pleo list-employees", false, e),
    }
}

/// Asks for an employee that does not exist: the error Pleo sends back is what the plugin may
/// see of a failed call (a hostile server could put anything in it).
fn get_missing_employee() -> Attempt {
    let what = "pleo get-employee (unknown id)";
    match users_read::get_employee("00000000-0000-4000-8000-000000000000") {
        Ok(employee) => attempt(what, true, employee),
        Err(e) => attempt(what, false, e),
    }
}

/// Sockets through `wasi:sockets` itself rather than std: std's sockets need a wasi-libc with
/// socket support, which the Debian toolchain of `scripts/setup.sh` lacks.
#[cfg(target_os = "wasi")]
mod net {
    use wasip2::sockets::network::{
        ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress,
    };
    use wasip2::sockets::{
        instance_network::instance_network, ip_name_lookup, tcp_create_socket, udp_create_socket,
    };

    fn loopback(port: u16) -> IpSocketAddress {
        IpSocketAddress::Ipv4(Ipv4SocketAddress {
            port,
            address: (127, 0, 0, 1),
        })
    }

    fn show(e: ErrorCode) -> String {
        format!("{e:?}")
    }

    pub fn tcp_connect_loopback(port: u16) -> Result<String, String> {
        let network = instance_network();
        let socket = tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4).map_err(show)?;
        socket
            .start_connect(&network, loopback(port))
            .map_err(show)?;
        loop {
            match socket.finish_connect() {
                Ok(_streams) => return Ok("connected".into()),
                Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
                Err(e) => return Err(show(e)),
            }
        }
    }

    pub fn udp_bind_loopback() -> Result<String, String> {
        let network = instance_network();
        let socket = udp_create_socket::create_udp_socket(IpAddressFamily::Ipv4).map_err(show)?;
        socket.start_bind(&network, loopback(0)).map_err(show)?;
        loop {
            match socket.finish_bind() {
                Ok(()) => break,
                Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
                Err(e) => return Err(show(e)),
            }
        }
        Ok(format!(
            "bound to {:?}",
            socket.local_address().map_err(show)?
        ))
    }

    pub fn lookup(name: &str) -> Result<String, String> {
        let network = instance_network();
        let stream = ip_name_lookup::resolve_addresses(&network, name).map_err(show)?;
        let mut found = Vec::new();
        loop {
            match stream.resolve_next_address() {
                Ok(Some(IpAddress::Ipv4((a, b, c, d)))) => found.push(format!("{a}.{b}.{c}.{d}")),
                Ok(Some(IpAddress::Ipv6(v6))) => found.push(format!("{v6:x?}")),
                Ok(None) => return Ok(found.join(" ")),
                Err(ErrorCode::WouldBlock) => stream.subscribe().block(),
                Err(e) => return Err(show(e)),
            }
        }
    }
}

#[cfg(not(target_os = "wasi"))]
mod net {
    const NOT_WASI: &str = "sockets are only probed on WASI";

    pub fn tcp_connect_loopback(_port: u16) -> Result<String, String> {
        Err(NOT_WASI.into())
    }

    pub fn udp_bind_loopback() -> Result<String, String> {
        Err(NOT_WASI.into())
    }

    pub fn lookup(_name: &str) -> Result<String, String> {
        Err(NOT_WASI.into())
    }
}

/// `text` in pieces of at most `max` bytes, split on character boundaries.
fn chunks(text: &str, max: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

pleo_plugin::export_plugin!(Snoop);
