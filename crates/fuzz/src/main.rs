//! `gatehouse-fuzz [--seconds N] [--target saml|metadata|all] [--seed N]`: see the
//! library's docs; `scripts/fuzz.sh [minutes]` runs it.

use std::time::Duration;

use gatehouse_fuzz::{run, Target};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if args.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("gatehouse-fuzz [--seconds N] [--target saml|metadata|all] [--seed N]");
        return Ok(());
    }
    let seconds: u64 = value("--seconds").map_or(Ok(60), |s| s.parse())?;
    let seed: u64 = value("--seed").map_or(Ok(0x9e37_79b9_7f4a_7c15), |s| s.parse())?;
    let targets = match value("--target").as_deref().unwrap_or("all") {
        "saml" => vec![Target::Saml],
        "metadata" => vec![Target::Metadata],
        "all" => vec![Target::Saml, Target::Metadata],
        other => anyhow::bail!("unknown target {other}"),
    };
    for target in &targets {
        let share = Duration::from_secs(seconds) / targets.len() as u32;
        let report = run(*target, share, seed)?;
        eprintln!(
            "{}: {} inputs in {share:?}, {} accepted (identity unchanged), slowest {:?}, RSS {} -> {} MB",
            target.name(),
            report.inputs,
            report.accepted,
            report.slowest,
            report.rss_start_mb,
            report.rss_end_mb
        );
    }
    Ok(())
}
