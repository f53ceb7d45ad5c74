//! The CPU time of one run: what the thread that polls the run spends on it, measured with the
//! thread's own CPU clock around every poll. That is the plugin's wasm and everything the host
//! does for it on the way (lifting and lowering arguments, building requests, decoding Pleo's
//! answers, file writes), whatever the host function; time spent waiting (for Pleo, a timer,
//! another task) uses no CPU and does not count, nor does a thread that is not scheduled.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

/// CPU used by one run so far, readable while it runs (from the epoch callback).
#[derive(Default)]
pub struct CpuMeter {
    /// Nanoseconds of finished polls.
    used: AtomicU64,
    /// The thread CPU clock when the current poll began; 0 between polls.
    poll_started: AtomicU64,
}

impl CpuMeter {
    /// CPU used so far, the poll under way included. Called on the polling thread.
    pub fn used(&self) -> Duration {
        let mut used = self.used.load(Ordering::Relaxed);
        let started = self.poll_started.load(Ordering::Relaxed);
        if started != 0 {
            used += thread_cpu_ns().saturating_sub(started);
        }
        Duration::from_nanos(used)
    }
}

/// A future whose polls are charged to a [`CpuMeter`].
pub struct Metered<F> {
    inner: Pin<Box<F>>,
    meter: Arc<CpuMeter>,
}

impl<F: Future> Metered<F> {
    pub fn new(inner: F, meter: Arc<CpuMeter>) -> Metered<F> {
        Metered {
            inner: Box::pin(inner),
            meter,
        }
    }
}

impl<F: Future> Future for Metered<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let started = thread_cpu_ns().max(1);
        self.meter.poll_started.store(started, Ordering::Relaxed);
        let result = self.inner.as_mut().poll(cx);
        let spent = thread_cpu_ns().saturating_sub(started);
        self.meter.used.fetch_add(spent, Ordering::Relaxed);
        self.meter.poll_started.store(0, Ordering::Relaxed);
        result
    }
}

/// The calling thread's CPU clock, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `now` is.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } == 0;
    if !ok {
        return 0;
    }
    (now.tv_sec as u64).saturating_mul(1_000_000_000) + now.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Busy polls count; waiting between them does not.
    #[test]
    fn counts_cpu_of_polls_not_waits() {
        let meter = Arc::new(CpuMeter::default());
        let work = async {
            let spin_until = |cpu: Duration| {
                let start = thread_cpu_ns();
                while thread_cpu_ns() - start < cpu.as_nanos() as u64 {
                    std::hint::black_box(0u64);
                }
            };
            spin_until(Duration::from_millis(30));
            tokio::time::sleep(Duration::from_millis(200)).await;
            spin_until(Duration::from_millis(30));
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(Metered::new(work, meter.clone()));
        let used = meter.used();
        assert!(used >= Duration::from_millis(60), "{used:?}");
        assert!(
            used < Duration::from_millis(200),
            "the sleep was counted: {used:?}"
        );
    }
}
