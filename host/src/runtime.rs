//! The WebAssembly side: one engine, a compile cache on disk, the WASI sandbox and the limits of
//! a run. The runtime knows nothing of Pleo: host capabilities live in the store as `C` and are
//! linked by the caller, and the plugin's world is started through [`Prepared`], which the
//! caller's bindings implement.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config as EngineConfig, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
    ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap, UpdateDeadline,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::cpu_meter::{CpuMeter, Metered};
use crate::error::{ExitCode, Failure};
pub use crate::limits::LimitExceeded;
use crate::limits::Limits;
use crate::out_quota::{OutQuota, OutQuotaView};

/// How often the epoch advances; the CPU budget is counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A plugin file that cannot be run. One-line messages.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0} is not a WebAssembly file")]
    NotWasm(String),
    #[error(
        "{0} is a core WebAssembly module, not a component; build it for wasm32-wasip2 (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule(String),
    #[error("{0} is not a valid component: {1}")]
    Invalid(String, String),
    /// Refused before compiling: too big, or more memories or tables than a run may create.
    #[error("{0}")]
    Limit(LimitExceeded),
}

/// A plugin file that cannot be loaded: not a component (exit 5), or over a limit (exit 6).
impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Failure {
        let message = crate::terminal::line(&e.to_string()).into_owned();
        match &e {
            LoadError::Limit(limit) => limit.failure(message),
            _ => Failure::new(ExitCode::Rejected, message)
                .hint("plugins are WebAssembly components built for wasm32-wasip2 against wit/"),
        }
    }
}

/// Why a run did not produce the plugin's own answer.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("limit exceeded: {0}")]
    Limit(#[from] LimitExceeded),
    #[error("plugin crashed: {0}")]
    Trap(String),
    #[error("plugin exited with status {0}")]
    Exit(i32),
    #[error("plugin could not be started: {0}")]
    Instantiate(String),
    /// A host call ended the run on purpose (e.g. a capability refused to continue).
    #[error("{0}")]
    Host(String),
    #[error("cancelled by {0}")]
    Cancelled(Signal),
}

/// A request from outside to stop a run (Ctrl-C, a service manager's SIGTERM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT (Ctrl-C)",
            Signal::Terminate => "SIGTERM",
        })
    }
}

/// Fires once with the signal that should stop the run.
pub type Cancel = tokio::sync::watch::Receiver<Option<Signal>>;

/// Most linear memories and tables one run may create (all instances of the component
/// together). A Rust component uses one memory and a few tables.
pub const MAX_MEMORIES: u64 = 16;
pub const MAX_TABLES: u64 = 64;
/// Bytes a table element costs the host (a pointer), for the run's memory budget.
const TABLE_ELEMENT_BYTES: usize = std::mem::size_of::<usize>();

/// A compiled plugin and what it imports.
pub struct LoadedPlugin {
    pub name: String,
    /// Hex SHA-256 of the `.wasm` bytes.
    pub sha256: String,
    /// The same SHA-256, as bytes.
    pub digest: [u8; 32],
    pub component: Component,
    /// Fully qualified import names, e.g. `pleo:plugin/users-read@0.1.0`.
    pub imports: Vec<String>,
    /// Time spent compiling it now (zero when loaded from a cache): part of the wall clock.
    pub compile_time: Duration,
}

/// A plugin linked and ready to instantiate, as the caller's bindings generate it (`bindings`
/// implements it for the `plugin` world). The runtime only starts it: it never names a world,
/// an interface or a capability, so it depends on no bindings.
pub trait Prepared<T>: Sync {
    /// Instantiates the plugin in `store` and calls its `run` export; sets `instantiated` to
    /// the moment the instance was ready (for the figures, e.g. an interpreter's start-up).
    fn start(
        &self,
        store: &mut Store<T>,
        instantiated: &mut Option<Instant>,
    ) -> impl std::future::Future<Output = Started> + Send;
}

/// How far [`Prepared::start`] got.
pub enum Started {
    /// Instantiation failed (a missing import, a limit hit while instantiating).
    NotInstantiated(wasmtime::Error),
    /// `run` trapped (or a host call ended it).
    Trapped(wasmtime::Error),
    /// `run` returned: `Ok(summary)` or `Err(cause)` as the plugin said it.
    Ran(Result<String, String>),
}

/// Store data of one run: the WASI context, the limiter and the caller's capabilities.
pub struct RunState<C> {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    /// What the run wrote to `/out`, charged while it writes (see `out_quota`).
    out_quota: std::sync::Arc<OutQuota>,
    pub caps: C,
}

impl<C: Send> OutQuotaView for RunState<C> {
    fn out_quota(&self) -> std::sync::Arc<OutQuota> {
        self.out_quota.clone()
    }
}

impl<C: Send> WasiView for RunState<C> {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// What a run may touch and use.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// Host folder preopened read-write as `/out`.
    pub out_dir: PathBuf,
    /// Host folder preopened read-only as `/in`, if the run has input.
    pub in_dir: Option<PathBuf>,
    pub limits: Limits,
    /// Stops the run when it fires; `None`: only the limits stop it.
    pub cancel: Option<Cancel>,
}

/// Everything a run leaves behind: the plugin's answer (or why there is none), its output
/// streams and the capabilities it used (to read counters from).
pub struct RunOutcome<C> {
    /// `Ok(Ok(summary))` or `Ok(Err(cause))` as the plugin said it; `Err` if the run was cut short.
    pub result: Result<Result<String, String>, RunError>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
    /// Of `elapsed`, the time until the instance was ready to run (`None`: it never was).
    pub instantiate: Option<Duration>,
    pub caps: C,
}

pub struct Runtime {
    engine: Engine,
    /// Ticks the epoch while runs are going (none when the thread could not start).
    ticker: Option<std::sync::Arc<EpochTicker>>,
    cache: Option<std::sync::Arc<ComponentCache>>,
    /// With an instance pool: one permit per slot, so a full pool makes a run wait, not fail.
    slots: Option<tokio::sync::Semaphore>,
    /// Components already compiled or loaded by this process, by the wasm's SHA-256: a
    /// process that runs a plugin many times loads it once.
    loaded: std::sync::Mutex<std::collections::HashMap<String, Component>>,
}

impl Runtime {
    /// One engine per process; `cache_dir` keeps compiled components between processes.
    /// Instances are allocated on demand: the cheapest start for a process that runs one plugin.
    pub fn new(cache_dir: Option<&Path>) -> wasmtime::Result<Runtime> {
        Runtime::build(cache_dir, None)
    }

    /// Like [`Runtime::new`], for a process that runs many plugins: instances, memories, tables
    /// and fiber stacks come from pools sized for `max_concurrent_runs` and are reused instead
    /// of mapped and unmapped for every run. Creating the pools costs about 1 ms (256 runs);
    /// each instantiation then costs about half (see README, Performance). Runs beyond
    /// `max_concurrent_runs` wait for a slot.
    pub fn with_instance_pool(
        cache_dir: Option<&Path>,
        max_concurrent_runs: u32,
    ) -> wasmtime::Result<Runtime> {
        Runtime::build(cache_dir, Some(max_concurrent_runs.max(1)))
    }

    fn build(cache_dir: Option<&Path>, pool: Option<u32>) -> wasmtime::Result<Runtime> {
        let mut config = EngineConfig::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(1 << 20);
        config.async_stack_size(2 << 20);
        if let Some(runs) = pool {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(instance_pool(runs)));
        }
        let engine = Engine::new(&config)?;
        let ticker = spawn_epoch_ticker(&engine);
        // A cache folder that cannot be created only costs speed: compile every time.
        let cache = cache_dir.and_then(|dir| match ComponentCache::new(&engine, dir) {
            Ok(cache) => Some(std::sync::Arc::new(cache)),
            Err(e) => {
                tracing::warn!("compile cache disabled: {}: {e}", dir.display());
                None
            }
        });
        Ok(Runtime {
            engine,
            ticker,
            cache,
            slots: pool.map(|runs| tokio::sync::Semaphore::new(runs as usize)),
            loaded: Default::default(),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A linker with WASI p2 (sockets linked but every use denied by the context), its
    /// filesystem charging the output quota.
    pub fn base_linker<C: Send + 'static>(&self) -> wasmtime::Result<Linker<RunState<C>>> {
        let mut linker = Linker::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        crate::out_quota::add_to_linker(&mut linker)?;
        Ok(linker)
    }

    /// Checks the bytes are a component within the limits and compiles them (or loads the
    /// cached compilation). Compiling is bounded: a component over `limits.wasm_bytes` is
    /// refused before it starts, and one whose compilation takes longer than `limits.wall` is
    /// abandoned (the compile thread is left to finish on its own; its result is dropped).
    pub fn load(
        &self,
        name: &str,
        wasm: &[u8],
        limits: &Limits,
    ) -> Result<LoadedPlugin, LoadError> {
        if !wasm.starts_with(b"\0asm") || wasm.len() < 8 {
            return Err(LoadError::NotWasm(name.into()));
        }
        if wasm[4..8] == [1, 0, 0, 0] {
            return Err(LoadError::CoreModule(name.into()));
        }
        check_size(wasm.len() as u64, limits)?;
        // Hashed once: an interpreter's component (Python, JavaScript) is 13-18 MB. A
        // compiled entry is always named by the SHA-256 of the bytes it was compiled from.
        let digest: [u8; 32] = Sha256::digest(wasm).into();
        let started = Instant::now();
        let (component, took) = match self.compiled(&digest) {
            Some(found) => found,
            None => {
                check_shape(wasm).map_err(|e| match e {
                    Shape::Invalid(cause) => LoadError::Invalid(name.into(), cause),
                    Shape::Over(limit) => LoadError::Limit(limit),
                })?;
                let component = self
                    .compile(wasm, digest, limits.wall)?
                    .map_err(|e| LoadError::Invalid(name.into(), first_line(&format!("{e:#}"))))?;
                self.remember(&digest, &component);
                (component, started.elapsed())
            }
        };
        Ok(self.loaded_plugin(name, digest, component, took))
    }

    /// The plugin whose wasm has SHA-256 `digest` and `size` bytes, if this process or the
    /// compile cache has compiled it (`None`: only its bytes will do). For a file whose
    /// SHA-256 the file index knows: nothing is read, parsed or hashed.
    pub fn load_compiled(
        &self,
        name: &str,
        digest: &[u8; 32],
        size: u64,
        limits: &Limits,
    ) -> Result<Option<LoadedPlugin>, LoadError> {
        check_size(size, limits)?;
        Ok(self
            .compiled(digest)
            .map(|(component, took)| self.loaded_plugin(name, *digest, component, took)))
    }

    /// The component of this SHA-256 already in this process, else from the compile cache (a
    /// compiled copy there passed the shape check when this host compiled it: loading it
    /// needs no parse of the wasm, no copy of it and no thread), with the time it took to
    /// load (zero when this process already had it: a run's wall clock is not charged twice).
    fn compiled(&self, digest: &[u8; 32]) -> Option<(Component, Duration)> {
        let sha256 = hex::encode(digest);
        let known = self
            .loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&sha256)
            .cloned();
        if let Some(component) = known {
            return Some((component, Duration::ZERO));
        }
        let started = Instant::now();
        let cached = self
            .cache
            .as_ref()
            .and_then(|cache| cache.cached(&self.engine, digest))?;
        self.remember(digest, &cached);
        Some((cached, started.elapsed()))
    }

    fn remember(&self, digest: &[u8; 32], component: &Component) {
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hex::encode(digest), component.clone());
    }

    fn loaded_plugin(
        &self,
        name: &str,
        digest: [u8; 32],
        component: Component,
        compile_time: Duration,
    ) -> LoadedPlugin {
        let imports = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        LoadedPlugin {
            name: name.into(),
            sha256: hex::encode(digest),
            digest,
            component,
            imports,
            compile_time,
        }
    }

    /// Compiles (or loads from the cache) on a thread of its own, waiting at most `deadline`.
    fn compile(
        &self,
        wasm: &[u8],
        digest: [u8; 32],
        deadline: Duration,
    ) -> Result<wasmtime::Result<Component>, LoadError> {
        let (engine, cache, wasm) = (self.engine.clone(), self.cache.clone(), wasm.to_vec());
        let (done, result) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("wasm-compile".into())
            .spawn(move || {
                let compiled = match &cache {
                    Some(cache) => cache.load(&engine, &wasm, &digest),
                    None => Component::new(&engine, &wasm),
                };
                let _ = done.send(compiled);
            })
            .map_err(|e| LoadError::Invalid("component".into(), format!("cannot compile: {e}")))?;
        result
            .recv_timeout(deadline)
            .map_err(|_| LoadError::Limit(LimitExceeded::Compile(deadline)))
    }

    /// Instantiates the plugin in a fresh store and calls its `run`, within the limits.
    pub async fn run<C: Send + 'static>(
        &self,
        pre: &impl Prepared<RunState<C>>,
        caps: C,
        sandbox: &Sandbox,
    ) -> RunOutcome<C> {
        let limits = sandbox.limits;
        // The epoch ticks while this run goes on (and the store lives).
        let _ticking = self.ticker.as_ref().map(|t| t.start());
        // Held until the store (and with it the instance) is gone. Never closed, so never `Err`.
        let _slot = match &self.slots {
            Some(slots) => slots.acquire().await.ok(),
            None => None,
        };
        // Bytes of stdout and of stderr kept (they go to the host log): `log_kb` each, so
        // prints are bounded by the same setting as log lines.
        let stdio_capacity = usize::try_from(limits.log_bytes).unwrap_or(usize::MAX);
        let stdout = MemoryOutputPipe::new(stdio_capacity);
        let stderr = MemoryOutputPipe::new(stdio_capacity);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            // No network at all: denied by default since wasmtime 48, stated here on purpose.
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .preopened_dir(&sandbox.out_dir, "/out", FsPerms::ReadWrite)
            .and_then(|builder| match &sandbox.in_dir {
                Some(dir) => builder.preopened_dir(dir, "/in", FsPerms::ReadOnly),
                None => Ok(builder),
            })
            .map(|builder| builder.build());
        let wasi = match wasi {
            Ok(wasi) => wasi,
            Err(e) => {
                return RunOutcome {
                    result: Err(RunError::Instantiate(format!(
                        "cannot open the output or input folder: {e}"
                    ))),
                    stdout: Vec::new(),
                    stderr: Vec::new(),
                    elapsed: Duration::ZERO,
                    instantiate: None,
                    caps,
                };
            }
        };
        let memory_bytes = usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX);
        let limiter = Limiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .instances(64)
                .tables(MAX_TABLES as usize)
                .memories(MAX_MEMORIES as usize)
                .table_elements(1 << 20)
                .build(),
            budget: memory_bytes,
            used: 0,
            memory_denied: false,
        };
        let mut table = ResourceTable::new();
        table.set_max_capacity(10_000);
        let mut store = Store::new(
            &self.engine,
            RunState {
                wasi,
                table,
                limiter,
                out_quota: OutQuota::new(limits.output_bytes, limits.output_files),
                caps,
            },
        );
        store.limiter(|s| &mut s.limiter);
        // Largest argument list a plugin may hand to one host call.
        store.set_hostcall_fuel(16 << 20);

        // CPU budget: the CPU the run's polls used, its wasm and the host's work for it alike
        // (see `cpu_meter`), checked on every epoch tick. Yielding on every tick lets tokio run
        // other tasks and lets the wall-clock timeout fire.
        let meter = std::sync::Arc::new(CpuMeter::default());
        let cpu = meter.clone();
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if cpu.used() >= limits.cpu {
                Err(wasmtime::Error::new(LimitExceeded::Cpu(limits.cpu)))
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });

        let started = Instant::now();
        let mut instantiated = None;
        let call = async {
            match pre.start(&mut store, &mut instantiated).await {
                Started::NotInstantiated(e) => Err((true, e)),
                Started::Trapped(e) => Err((false, e)),
                Started::Ran(answer) => Ok(answer),
            }
        };
        let call = Metered::new(call, meter);
        let mut cancel = sandbox.cancel.clone();
        let cancelled = async move {
            let signal = match cancel.as_mut() {
                Some(cancel) => cancel.wait_for(Option::is_some).await.ok().and_then(|s| *s),
                None => None,
            };
            match signal {
                Some(signal) => signal,
                // Nobody can cancel this run (no receiver, or the sender is gone).
                None => std::future::pending().await,
            }
        };
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(limits.wall, call) => Ok(outcome),
            signal = cancelled => Err(signal),
        };
        let elapsed = started.elapsed();
        let result = match outcome {
            Err(signal) => Err(RunError::Cancelled(signal)),
            Ok(outcome) => match outcome {
                Err(_) => Err(RunError::Limit(LimitExceeded::WallClock(limits.wall))),
                Ok(Err((instantiating, e))) => {
                    let memory_denied = store.data().limiter.memory_denied;
                    Err(classify(
                        e,
                        instantiating,
                        memory_denied,
                        &limits,
                        &stderr.contents(),
                    ))
                }
                Ok(Ok(result)) => Ok(result),
            },
        };
        RunOutcome {
            result,
            stdout: stdout.contents().to_vec(),
            stderr: stderr.contents().to_vec(),
            elapsed,
            instantiate: instantiated.map(|at| at.duration_since(started)),
            caps: store.into_data().caps,
        }
    }
}

/// Why a component is refused before compiling.
enum Shape {
    Invalid(String),
    Over(LimitExceeded),
}

/// Refuses a component over `limits.wasm_bytes` before anything is done with it.
fn check_size(size: u64, limits: &Limits) -> Result<(), LoadError> {
    if size > limits.wasm_bytes {
        return Err(LoadError::Limit(LimitExceeded::WasmSize {
            limit: limits.wasm_bytes,
            size,
        }));
    }
    Ok(())
}

/// Counts the memories and tables the component's core modules define, so a component that
/// could never run within the limits is refused before it costs a compile.
fn check_shape(wasm: &[u8]) -> Result<(), Shape> {
    let (mut memories, mut tables) = (0u64, 0u64);
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| Shape::Invalid(e.message().to_owned()))? {
            wasmparser::Payload::MemorySection(section) => memories += u64::from(section.count()),
            wasmparser::Payload::TableSection(section) => tables += u64::from(section.count()),
            _ => {}
        }
    }
    for (what, count, max) in [
        ("memories", memories, MAX_MEMORIES),
        ("tables", tables, MAX_TABLES),
    ] {
        if count > max {
            return Err(Shape::Over(LimitExceeded::Shape { what, count, max }));
        }
    }
    Ok(())
}

/// Pools for `runs` plugins at once. A memory slot is only reserved address space until used;
/// most of the creation cost is the guard page of every fiber stack.
fn instance_pool(runs: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    // A Rust wasm32-wasip2 component is a few core instances (the program and its shims),
    // one memory and a few tables; these leave room for larger ones.
    pool.total_component_instances(runs)
        .total_core_instances(runs.saturating_mul(16))
        .total_memories(runs.saturating_mul(2))
        .total_tables(runs.saturating_mul(8))
        .total_stacks(runs)
        // `[limits] memory_mb` goes up to 4096: the pool's slots must not be smaller.
        .max_memory_size(4 << 30);
    pool
}

/// Maps a wasmtime error to the cause an operator understands.
fn classify(
    err: wasmtime::Error,
    instantiating: bool,
    memory_denied: bool,
    limits: &Limits,
    stderr: &[u8],
) -> RunError {
    if let Some(limit) = err.downcast_ref::<LimitExceeded>() {
        return RunError::Limit(limit.clone());
    }
    // A Rust guest whose allocation is refused aborts with `unreachable`; the limiter saw why.
    if memory_denied {
        return RunError::Limit(LimitExceeded::Memory(limits.memory_bytes));
    }
    if let Some(exit) = err.downcast_ref::<I32Exit>() {
        return RunError::Exit(exit.0);
    }
    if let Some(host) = err.downcast_ref::<HostTrap>() {
        return RunError::Host(host.0.clone());
    }
    if instantiating {
        return RunError::Instantiate(cause_of(&err));
    }
    let cause = match err.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => cause_of(&err),
    };
    // The panic message (if any) is the most useful part of stderr.
    let stderr = String::from_utf8_lossy(stderr);
    match stderr.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(last) => RunError::Trap(format!("{cause} ({})", last.trim())),
        None => RunError::Trap(cause),
    }
}

/// An error a host function raises to end the run with a message (not a limit).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HostTrap(pub String);

/// The causes of an error, outermost first, without the wasm backtrace wasmtime wraps around
/// a trap (whose first line alone, "error while executing at wasm backtrace:", says nothing).
/// A host call that failed (a bad string or list from the plugin, a full resource table)
/// names itself in these causes.
fn cause_of(err: &wasmtime::Error) -> String {
    let causes: Vec<String> = err
        .chain()
        .map(|cause| cause.to_string())
        .filter(|cause| !cause.starts_with("error while executing at wasm backtrace"))
        .map(|cause| first_line(&cause))
        .filter(|cause| !cause.is_empty())
        .collect();
    match causes.is_empty() {
        true => first_line(&format!("{err:#}")),
        false => causes.join(": "),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_owned()
}

/// `StoreLimits` (counts of instances, memories, tables) plus one byte budget for every memory
/// and table of the run together: a component cannot multiply `memory_mb` by defining many
/// memories, nor live outside it in tables.
struct Limiter {
    inner: StoreLimits,
    /// `memory_mb` in bytes, and what the run's memories and tables take of it now.
    budget: usize,
    used: usize,
    memory_denied: bool,
}

impl Limiter {
    /// Moves `used` from `current` to `desired` bytes of one memory or table, if it fits.
    fn grow(&mut self, current: usize, desired: usize) -> bool {
        let after = (self.used - current.min(self.used)).saturating_add(desired);
        if after > self.budget {
            self.memory_denied = true;
            return false;
        }
        self.used = after;
        true
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok =
            self.inner.memory_growing(current, desired, maximum)? && self.grow(current, desired);
        self.memory_denied |= !ok;
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let bytes = |elements: usize| elements.saturating_mul(TABLE_ELEMENT_BYTES);
        Ok(self.inner.table_growing(current, desired, maximum)?
            && self.grow(bytes(current), bytes(desired)))
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// The thread that advances the engine's epoch, and how many runs need it.
struct EpochTicker {
    active: std::sync::atomic::AtomicUsize,
    thread: std::thread::Thread,
}

/// Keeps the epoch ticking while it lives (one per run).
struct Ticking(std::sync::Arc<EpochTicker>);

impl EpochTicker {
    fn start(self: &std::sync::Arc<Self>) -> Ticking {
        self.active
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.thread.unpark();
        Ticking(self.clone())
    }
}

impl Drop for Ticking {
    fn drop(&mut self) {
        self.0
            .active
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Most an idle epoch thread sleeps before it checks whether its engine is gone.
const IDLE_TICKER_CHECK: Duration = Duration::from_secs(1);

/// Advances the engine's epoch from an OS thread, so it ticks even when every tokio worker is
/// busy running wasm. Only while a run is going: an idle process (a daemon between fire
/// times) is not woken 100 times a second. Holds a weak reference and ends with the engine.
fn spawn_epoch_ticker(engine: &Engine) -> Option<std::sync::Arc<EpochTicker>> {
    let weak = engine.weak();
    let (handle, ready) = std::sync::mpsc::sync_channel::<std::sync::Arc<EpochTicker>>(1);
    let spawned = std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            let Ok(ticker) = ready.recv() else {
                return;
            };
            while let Some(engine) = weak.upgrade() {
                if ticker.active.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    drop(engine);
                    // `start` unparks: a run that begins meanwhile is not missed.
                    std::thread::park_timeout(IDLE_TICKER_CHECK);
                    continue;
                }
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    match spawned {
        Ok(join) => {
            let ticker = std::sync::Arc::new(EpochTicker {
                active: Default::default(),
                thread: join.thread().clone(),
            });
            let _ = handle.send(ticker.clone());
            Some(ticker)
        }
        Err(e) => {
            tracing::error!("cannot start the epoch thread, CPU limits will not work: {e}");
            None
        }
    }
}

/// Compiled components on disk, keyed by the engine's compatibility hash and the wasm's SHA-256,
/// so a changed engine or plugin never loads a stale compilation.
struct ComponentCache {
    dir: PathBuf,
    engine_key: [u8; 32],
}

/// Feeds `Engine::precompile_compatibility_hash` (which only implements `Hash`) into SHA-256.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        unreachable!("only used through Hash::hash")
    }
}

impl ComponentCache {
    fn new(engine: &Engine, dir: &Path) -> std::io::Result<ComponentCache> {
        std::fs::create_dir_all(dir)?;
        let mut hasher = ShaHasher(Sha256::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
        hasher.write(concat!("pleo-host-", env!("CARGO_PKG_VERSION")).as_bytes());
        Ok(ComponentCache {
            dir: dir.to_owned(),
            engine_key: hasher.0.finalize().into(),
        })
    }

    /// The entry's path, from the wasm's SHA-256 (`digest`).
    fn path_for(&self, digest: &[u8; 32]) -> PathBuf {
        let mut h = Sha256::new();
        h.update(self.engine_key);
        h.update(digest);
        self.dir
            .join(format!("{}.cwasm", hex::encode(h.finalize())))
    }

    /// The compiled component of the wasm whose SHA-256 is `digest`, if the cache has a usable
    /// one (an unusable entry is removed).
    fn cached(&self, engine: &Engine, digest: &[u8; 32]) -> Option<Component> {
        let path = self.path_for(digest);
        if !path.exists() {
            return None;
        }
        // SAFETY: files in the cache folder are written only by this host (below), from
        // wasm it compiled itself, published by an atomic rename and never modified.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::debug!("recompiling: cached {} unusable: {e}", path.display());
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// The cached compilation of `wasm` (SHA-256 `digest`), else a new one, written to the cache.
    fn load(&self, engine: &Engine, wasm: &[u8], digest: &[u8; 32]) -> wasmtime::Result<Component> {
        if let Some(component) = self.cached(engine, digest) {
            return Ok(component);
        }
        let path = self.path_for(digest);
        let compiled = engine.precompile_component(wasm)?;
        // Unique temp name: two processes compiling the same plugin never share a file.
        let tmp = path.with_extension(format!(
            "tmp.{}.{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let published = std::fs::write(&tmp, &compiled).and_then(|_| std::fs::rename(&tmp, &path));
        match published {
            // SAFETY: as above; this file was just written from our own compilation.
            Ok(()) => unsafe { Component::deserialize_file(engine, &path) },
            Err(e) => {
                tracing::debug!("compile cache not written: {e}");
                let _ = std::fs::remove_file(&tmp);
                // SAFETY: `compiled` came from `precompile_component` on this engine just now.
                unsafe { Component::deserialize(engine, &compiled) }
            }
        }
    }
}

#[cfg(test)]
mod cache_tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    /// The smallest component there is: compiling it is quick, and it has a cache entry.
    fn component() -> Vec<u8> {
        wat::parse_str("(component (core module))").unwrap()
    }

    fn engine(optimize: bool) -> Engine {
        let mut config = EngineConfig::new();
        config.wasm_component_model(true);
        if !optimize {
            config.cranelift_opt_level(wasmtime::OptLevel::None);
        }
        Engine::new(&config).unwrap()
    }

    fn digest(wasm: &[u8]) -> [u8; 32] {
        Sha256::digest(wasm).into()
    }

    /// The `.cwasm` files in `dir`, and whatever else is there.
    fn entries(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    }

    fn only_entry(dir: &Path) -> PathBuf {
        let files = entries(dir);
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].extension().unwrap(), "cwasm");
        files.into_iter().next().unwrap()
    }

    #[test]
    fn a_miss_writes_an_entry_and_a_hit_loads_it_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, wasm) = (engine(true), component());
        ComponentCache::new(&engine, dir.path())
            .unwrap()
            .load(&engine, &wasm, &digest(&wasm))
            .unwrap();
        let entry = only_entry(dir.path());
        let written = std::fs::metadata(&entry).unwrap();

        // Another process (a fresh cache on the same folder) finds it and leaves it alone:
        // a rewrite would publish a new file (a new inode) by rename.
        ComponentCache::new(&engine, dir.path())
            .unwrap()
            .load(&engine, &wasm, &digest(&wasm))
            .unwrap();
        assert_eq!(only_entry(dir.path()), entry);
        let after = std::fs::metadata(&entry).unwrap();
        assert_eq!(after.ino(), written.ino(), "the entry was written again");
        assert_eq!(after.mtime_nsec(), written.mtime_nsec());
        assert_eq!(after.mtime(), written.mtime());
    }

    #[test]
    fn a_corrupt_entry_is_compiled_again() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, wasm) = (engine(true), component());
        let cache = ComponentCache::new(&engine, dir.path()).unwrap();
        cache.load(&engine, &wasm, &digest(&wasm)).unwrap();
        let entry = only_entry(dir.path());
        let good = std::fs::read(&entry).unwrap();
        std::fs::write(&entry, b"not a compiled component").unwrap();

        let component = ComponentCache::new(&engine, dir.path())
            .unwrap()
            .load(&engine, &wasm, &digest(&wasm))
            .expect("a corrupt entry is recompiled, not an error");
        assert_eq!(component.component_type().imports(&engine).count(), 0);
        assert_eq!(only_entry(dir.path()), entry);
        assert_eq!(
            std::fs::read(&entry).unwrap(),
            good,
            "the entry is repaired"
        );
    }

    #[test]
    fn an_entry_of_another_engine_is_never_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = component();
        let (fast, slow) = (engine(true), engine(false));
        let cache = ComponentCache::new(&fast, dir.path()).unwrap();
        assert_ne!(
            cache.engine_key,
            ComponentCache::new(&slow, dir.path()).unwrap().engine_key,
            "the engines differ in a setting their compilations depend on"
        );
        cache.load(&fast, &wasm, &digest(&wasm)).unwrap();
        let first = only_entry(dir.path());
        let written = std::fs::metadata(&first).unwrap();

        // The other engine has a name of its own: it compiles and writes its own entry and
        // leaves the first one as it was.
        ComponentCache::new(&slow, dir.path())
            .unwrap()
            .load(&slow, &wasm, &digest(&wasm))
            .unwrap();
        let files = entries(dir.path());
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(files.contains(&first));
        assert_eq!(std::fs::metadata(&first).unwrap().ino(), written.ino());
    }
}
