//! `tagpub check`: the config is valid (it loaded), and per repository and package,
//! which tags would be served and which are rejected and why. Writes nothing.
//!
//! A package name held by several repositories is served from one (release/claim.rs):
//! its owner in the catalog if the data dir has one, else the first in registry.yaml.

use crate::config::Config;
use crate::release;
use std::collections::BTreeMap;
use std::process::ExitCode;

pub fn run(config: Config) -> anyhow::Result<ExitCode> {
    println!("config {} is valid", config.path.display());
    for problem in config.environment_problems() {
        println!("  warning: {problem}");
    }
    let mut unreachable = 0;
    let mut reports: Vec<_> = config
        .repositories
        .iter()
        .map(release::check_repository)
        .collect();
    let owners =
        crate::store::read_owners(&config.data_dir.join("tagpub.sqlite3")).unwrap_or_default();
    release::resolve_names(&config.repositories, &mut reports, &owners);
    for report in &reports {
        println!("\nrepository {}", report.repo);
        if let Some(e) = &report.fetch_error {
            unreachable += 1;
            println!("  cannot be read: {e}");
        }
        let mut packages: BTreeMap<&str, (Vec<String>, Vec<String>)> = BTreeMap::new();
        for (package, version, tag) in &report.served {
            packages
                .entry(package)
                .or_default()
                .0
                .push(format!("{version} (tag {tag})"));
        }
        for p in &report.rejected {
            packages
                .entry(&p.package)
                .or_default()
                .1
                .push(format!("tag {}: {}", p.tag, p.reason));
        }
        if packages.is_empty() && report.fetch_error.is_none() {
            println!("  no tag matches any package's tag_pattern");
        }
        for (package, (served, rejected)) in packages {
            println!("  package {package}");
            for s in served {
                println!("    serve   {s}");
            }
            for r in rejected {
                println!("    reject  {r}");
            }
        }
        for w in &report.warnings {
            println!("  warning: {w}");
        }
    }
    Ok(if unreachable > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
