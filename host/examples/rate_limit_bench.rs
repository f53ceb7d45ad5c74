//! Rate-limit benchmark: how close the client's shared rate limiter gets to a server's per-key
//! limit without going over it.
//!
//! The mock Pleo API is started in-process with a per-key limit of N requests a minute (it
//! answers 429 with `Retry-After` beyond that, like Pleo); several pagers share one client
//! configured with the same N, and page through accounting entries (100 per page, starting
//! over at the end) for a fixed time. Reported: requests answered per minute / N
//! (utilisation, target at least 95 %) and the number of 429s (target 0).
//!
//! ```sh
//! scripts/bench rate-limit                       # N = 600/min for 90 s, 4 pagers
//! cargo run --example rate_limit_bench -- --per-minute 1200 --seconds 60 --pagers 8
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use pleo_host::credential::ApiKey;
use pleo_host::mock::{FaultConfig, MOCK_API_KEY, MockConfig, MockServer};
use pleo_host::pleo::{ApiRequest, ClientOptions, PleoClient, RateLimit};
use serde_json::json;

#[derive(Parser)]
#[command(about = "Utilisation of a per-key rate limit by the client's shared limiter")]
struct Args {
    /// The mock's per-key limit and the client's, requests a minute.
    #[arg(long, default_value_t = 600)]
    per_minute: u32,
    /// The mock's burst (default: a second's worth, as with pleo.toml's [mock]).
    #[arg(long)]
    server_burst: Option<u32>,
    /// The client's burst (default: the client's default).
    #[arg(long)]
    client_burst: Option<u32>,
    /// How long to page.
    #[arg(long, default_value_t = 90)]
    seconds: u64,
    /// Concurrent pagers sharing the client (as concurrent runs share the key's limiter).
    #[arg(long, default_value_t = 4)]
    pagers: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let server_limit = pleo_host::mock::RateLimit {
        per_minute: args.per_minute,
        burst: args.server_burst.unwrap_or((args.per_minute / 60).max(1)),
    };
    let client_limit = RateLimit {
        per_minute: args.per_minute,
        burst: args
            .client_burst
            .unwrap_or(ClientOptions::default().rate_limit.burst),
    };
    let mock = MockServer::start(
        ([127, 0, 0, 1], 0).into(),
        MockConfig {
            faults: FaultConfig {
                rate_limit: Some(server_limit),
                ..FaultConfig::default()
            },
            ..MockConfig::default()
        },
    )
    .await?;
    let key = ApiKey::new(MOCK_API_KEY)?;
    let options = ClientOptions {
        rate_limit: client_limit,
        ..ClientOptions::default()
    };
    let client = PleoClient::with_options(&mock.base_url(), &key, options)?;
    println!(
        "rate-limit benchmark: mock limit {}/min per key (burst {}), client limit {}/min (burst {}), {} pagers, {} s",
        server_limit.per_minute,
        server_limit.burst,
        client_limit.per_minute,
        client_limit.burst,
        args.pagers,
        args.seconds
    );

    let answered = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let mut pagers = Vec::new();
    for _ in 0..args.pagers {
        let (client, answered, failed) = (client.clone(), answered.clone(), failed.clone());
        pagers.push(tokio::spawn(async move {
            let mut cursor: Option<String> = None;
            // A request that starts before the deadline counts; none starts after it.
            while Instant::now() < deadline {
                let req = ApiRequest::post(
                    "/v1/accounting-entries:search",
                    json!({"includeDeleted": false}),
                )
                .query("limit", "100")
                .query_opt("after", cursor.take());
                match client.get_page(&req).await {
                    Ok(page) => {
                        answered.fetch_add(1, Ordering::Relaxed);
                        cursor = page.next_cursor;
                    }
                    Err(e) => {
                        if failed.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("request failed: {e}");
                        }
                    }
                }
            }
        }));
    }
    for pager in pagers {
        pager.await?;
    }
    let elapsed = started.elapsed();

    let answered = answered.load(Ordering::Relaxed);
    let per_minute = answered as f64 / elapsed.as_secs_f64() * 60.0;
    let utilisation = per_minute / f64::from(args.per_minute) * 100.0;
    let faults = mock.fault_counts();
    let stats = client.stats();
    println!(
        "  answered:     {answered} requests in {:.1} s = {per_minute:.1}/min",
        elapsed.as_secs_f64()
    );
    println!(
        "  utilisation:  {utilisation:.1} % of {}/min (target >= 95 %)",
        args.per_minute
    );
    println!(
        "  429s:         {} (target 0); retries {}; failed calls {}",
        faults.rate_limited,
        stats.retries,
        failed.load(Ordering::Relaxed)
    );
    println!(
        "  client limiter held {} of {} requests, {:.1} s in all",
        stats.throttled,
        stats.requests,
        stats.throttle_wait.as_secs_f64()
    );
    mock.shutdown().await;
    Ok(())
}
