//! `cargo run --release -p bench -- idle`: what the local stack costs when
//! nobody uses it. The stack runs as `devstack up` runs it (a dynoxide
//! file, moto, the event pipeline, the scheduled functions); after it has
//! settled, the CPU time of the runner and of moto is read over a minute,
//! long enough for the once-a-minute schedules to run.

use super::cpu::CpuMeter;
use super::{drain, heading, save, verdict};
use devstack::{Stack, StackOptions};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct IdleArgs {
    /// Products in the catalog.
    #[arg(long, default_value_t = 10_000)]
    pub products: usize,
    /// How long the idle stack is measured.
    #[arg(long, default_value_t = 65)]
    pub seconds: u64,
    /// Where the report goes.
    #[arg(long, default_value_os_t = devstack::project_root().join("bench/results/idle.md"))]
    pub out: PathBuf,
}

/// The idle runner and moto together, at most this share of one core.
const IDLE_SHARE: f64 = 0.02;

pub async fn run(args: IdleArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("storefront-bench-idle-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir)?;
    let stack = Stack::start(StackOptions {
        data_file: Some(dir.join("dynamodb.sqlite")),
        search_index: Some(dir.join("search-index")),
        sqs: true,
        seed_products: Some(args.products),
        ..StackOptions::for_tests()
    })
    .await?;
    // Start-up's own events (the seed writes none) go through first.
    let settled = drain(&stack).await?;
    let moto = stack.moto_pid().expect("the stack runs moto");
    eprintln!("measuring the idle stack for {} s", args.seconds);
    let meter = CpuMeter::start(Some(moto))?;
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let share = meter.stop()?;
    stack.stop().await?;
    let _ = std::fs::remove_dir_all(&dir);

    let mut report = heading(
        "The idle local stack",
        &format!("idle --products {} --seconds {}", args.products, args.seconds),
    );
    report.push_str(&format!(
        "The stack as `devstack up` runs it (a dynoxide file, moto, the relay and the workers, the \
         scheduled sweeper and reconciler), seeded with {} products; once its event pipeline had \
         nothing left to do ({:.0} s after start-up), it was left alone and measured for {} s: CPU \
         time (user + system, `/proc/<pid>/stat`) over wall time.\n\n",
        args.products,
        settled.as_secs_f64(),
        args.seconds
    ));
    report.push_str("| process | share of one core |\n|---|---|\n");
    report.push_str(&format!("| runner | {:.2}% |\n", share.runner * 100.0));
    report.push_str(&format!("| moto | {:.2}% |\n", share.moto * 100.0));
    report.push_str(&format!("| both | {:.2}% |\n", share.total() * 100.0));
    report.push_str(&format!(
        "\nGoal: the idle runner and moto together below {:.0}% of one core.\n",
        IDLE_SHARE * 100.0
    ));
    let mut misses = Vec::new();
    if share.total() >= IDLE_SHARE {
        misses.push(format!("the idle stack used {:.2}% of a core", share.total() * 100.0));
    }
    verdict(&mut report, &misses);
    save(&report, &args.out)?;
    anyhow::ensure!(misses.is_empty(), "a goal was missed: {}", misses.join("; "));
    Ok(())
}
