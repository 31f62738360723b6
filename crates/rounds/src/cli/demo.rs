//! `rounds demo`: writes a synthetic health system with planted signals (`synth`) to a folder:
//! FHIR R4 NDJSON, a FAERS extract, weekly surveillance counts and truth.json.

use anyhow::Context;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed of the generator: the same seed writes byte-identical files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// small (a newcomer's minute), medium (~120k inpatient and ~300k ED encounters), large (10×).
    #[arg(long, value_enum, default_value_t = ScaleArg::Small)]
    scale: ScaleArg,
    /// Folder to write into (created if needed; files of an earlier run are replaced).
    #[arg(long)]
    output: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScaleArg {
    Small,
    Medium,
    Large,
}

impl From<ScaleArg> for synth::Scale {
    fn from(s: ScaleArg) -> synth::Scale {
        match s {
            ScaleArg::Small => synth::Scale::Small,
            ScaleArg::Medium => synth::Scale::Medium,
            ScaleArg::Large => synth::Scale::Large,
        }
    }
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let options = synth::Options::new(args.seed, args.scale.into());
    let truth = synth::generate(&options, &args.output)
        .with_context(|| format!("writing the demo to {}", args.output.display()))?;
    let records: u64 = truth.files.values().sum();
    for (file, count) in &truth.files {
        println!("{count:>10}  {file}");
    }
    println!(
        "{records} records, {} planted signals, in {:.1} s: {}",
        truth.signals.len(),
        started.elapsed().as_secs_f64(),
        args.output.join("truth.json").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unwritable_output_is_an_error_naming_the_path() {
        let file = std::env::temp_dir().join(format!("rounds-demo-{}-file", std::process::id()));
        std::fs::write(&file, "not a folder").unwrap();
        let error = run(DemoArgs {
            seed: 1,
            scale: ScaleArg::Small,
            output: file.join("inside"),
        })
        .unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("rounds-demo-"), "{message}");
        std::fs::remove_file(&file).unwrap();
    }
}
