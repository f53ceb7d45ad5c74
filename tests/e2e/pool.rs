//! `Runtime::with_instance_pool`: more runs than pool slots wait for a slot instead of failing,
//! and the limits still hold for instances taken from the pool.

use std::sync::Arc;
use std::time::Duration;

use pleo_host::bindings::PluginPre;
use pleo_host::capabilities::{self, Caps, Grant, Progress};
use pleo_host::config::Limits;
use pleo_host::credential::ApiKey;
use pleo_host::pleo::PleoClient;
use pleo_host::runtime::{LimitExceeded, RunError, RunState, Runtime, Sandbox};
use pleo_host::scopes::ScopeSet;

use crate::common::{plugin, tempdir, tokio};

/// Capabilities for `hostile`, which calls no Pleo interface (the client is never used).
fn caps(mode: &str) -> Caps {
    let key = ApiKey::new("pool-test-key").unwrap();
    let client = PleoClient::new("http://127.0.0.1:9", &key).unwrap();
    let grant = Grant {
        plugin: "hostile".into(),
        company_id: "00000000-0000-4000-8000-000000000000".into(),
        scopes: ScopeSet::new(),
        params: [("mode".to_owned(), mode.to_owned())].into(),
        limits: Limits {
            api_calls: 0,
            ..Limits::default()
        },
        other_companies: Vec::new(),
        key_company: None,
    };
    Caps::new(
        grant,
        client,
        key.redactor(),
        Arc::new(|_: &Progress| {}),
        None,
    )
}

#[test]
fn a_full_pool_makes_runs_wait_and_limits_still_hold() {
    let out = tempdir();
    let rt = tokio();
    rt.block_on(async {
        let runtime = Arc::new(Runtime::with_instance_pool(None, 2).unwrap());
        let wasm = std::fs::read(plugin("hostile")).unwrap();
        let loaded = runtime.load("hostile", &wasm, &Limits::default()).unwrap();
        let mut linker = runtime.base_linker::<Caps>().unwrap();
        capabilities::add_to_linker(&mut linker, &ScopeSet::new()).unwrap();
        let pre: PluginPre<RunState<Caps>> = linker
            .instantiate_pre(&loaded.component)
            .and_then(PluginPre::new)
            .unwrap();
        let sandbox = Sandbox {
            out_dir: out.path().to_owned(),
            in_dir: None,
            limits: Limits {
                memory_bytes: 32 << 20,
                ..Limits::default()
            },
            cancel: None,
        };

        // Three times as many runs as slots, all at once, each holding its slot until the wall
        // clock stops it: the runs beyond the pool must wait, not fail to instantiate.
        let sleepy = Sandbox {
            limits: Limits {
                wall: Duration::from_millis(200),
                ..sandbox.limits
            },
            ..sandbox.clone()
        };
        let runs: Vec<_> = (0..6)
            .map(|_| {
                let (runtime, pre, sandbox) = (runtime.clone(), pre.clone(), sleepy.clone());
                tokio::spawn(async move { runtime.run(&pre, caps("sleep"), &sandbox).await.result })
            })
            .collect();
        for run in runs {
            let result = run.await.unwrap();
            assert!(
                matches!(result, Err(RunError::Limit(LimitExceeded::WallClock(_)))),
                "{result:?}"
            );
        }

        let bomb = runtime.run(&pre, caps("membomb"), &sandbox).await.result;
        assert!(
            matches!(
                bomb,
                Err(RunError::Limit(LimitExceeded::Memory(bytes))) if bytes == 32 << 20
            ),
            "{bomb:?}"
        );
        // The slot the bomb used is clean again for the next run.
        let after = runtime.run(&pre, caps("ok"), &sandbox).await.result;
        assert!(matches!(&after, Ok(Ok(s)) if s == "ok"), "{after:?}");
    });
}
