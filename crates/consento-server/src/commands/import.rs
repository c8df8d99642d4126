//! `consento import`: a CRM export into contacts and consents, with a progress bar on stderr and
//! every bad line listed there; and `consento bench-import`, which times it on a generated file.

use std::io::{IsTerminal, Write};

use consento_domain::import::{ConsentColumns, LineError, Mapping};
use consento_domain::{Actor, ActorKind, ConsentCode, ConsentTypeSpec, Permissions};
use consento_store::{ImportProgress, ImportStatus};

use super::Ctx;
use super::output::json;
use crate::cli::ImportArgs;
use crate::config::ImportConfig;
use consento_app::import::{
    DEFAULT_MAX_CELL_BYTES, FileEncoding, ImportJob, Outcome, begin, execute, parse_delimiter,
    read_mapping,
};

/// `consento import --source … [--mapping …] FILE`.
pub async fn run(ctx: &mut Ctx<'_>, args: ImportArgs) -> anyhow::Result<()> {
    let mapping = args.mapping.as_deref().map(read_mapping).transpose()?;
    let delimiter = args.delimiter.as_deref().map(parse_delimiter).transpose()?;
    let encoding = args
        .encoding
        .as_deref()
        .map(FileEncoding::parse)
        .transpose()?
        .unwrap_or_default();
    let max_cell_bytes = match args.max_cell_kib {
        Some(kib) if (1..=ImportConfig::MAX_CELL_KIB).contains(&kib) => kib as usize * 1024,
        Some(_) => anyhow::bail!("max-cell-kib: give 1 to {}", ImportConfig::MAX_CELL_KIB),
        None => ctx.app.policy().import_max_cell_bytes,
    };
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let job = ImportJob {
        source: args.source,
        mapping,
        delimiter,
        encoding,
        max_cell_bytes,
        path: args.file,
        file_name,
        started_by: ctx.operator.clone(),
        actor: Actor::new(ActorKind::Operator, &ctx.operator)?,
        zone: ctx.app.zone().clone(),
    };
    let outcome = run_with_progress(ctx, &job).await?;
    let c = outcome.counts;
    match outcome.status {
        ImportStatus::Done => {
            if ctx.json {
                return json(
                    ctx.out,
                    &serde_json::json!({"run": outcome.id, "status": "done", "counts": c}),
                );
            }
            writeln!(
                ctx.out,
                "imported {} lines from {} ({}): {} contacts created, {} matched, {} consent events, {} skipped (suppressed or erased)",
                c.rows_read,
                job.file_name,
                job.source.trim(),
                c.contacts_created,
                c.contacts_matched,
                c.events_written,
                c.skipped_suppressed
            )?;
            Ok(())
        }
        // Parts committed before it stopped: they stay, and the same file completes them.
        ImportStatus::Interrupted => anyhow::bail!(
            "{}; stopped after {} lines were written ({} consent events): import the same file again to complete it (nothing is added twice)",
            outcome
                .failure
                .as_deref()
                .unwrap_or("the import was not completed"),
            c.rows_written + c.skipped_suppressed,
            c.events_written
        ),
        ImportStatus::Failed | ImportStatus::Running => match outcome.failure {
            Some(failure) => anyhow::bail!("{failure}; nothing was imported"),
            None => anyhow::bail!(
                "{} bad lines (listed above): nothing was imported",
                c.error_count
            ),
        },
    }
}

/// Runs the job, drawing a progress bar on stderr when it is a terminal and listing every bad
/// line there as it is found.
async fn run_with_progress(ctx: &Ctx<'_>, job: &ImportJob) -> anyhow::Result<Outcome> {
    // The run is audited as it is recorded (its id the entry's target), as the console's
    // upload is; its contacts and consents then carry the run's id.
    let begun = ctx
        .audited_use_case(
            "import.run",
            None,
            serde_json::json!({ "source": job.source.trim() }),
            begin(&ctx.store, job),
        )
        .await?;
    let terminal = std::io::stderr().is_terminal();
    let on_error = Box::new(move |e: &LineError| {
        let clear = if terminal { "\r\x1b[K" } else { "" };
        let _ = writeln!(std::io::stderr(), "{clear}{e}");
    });
    let work = execute(&ctx.store, job, &begun, on_error);
    if !terminal {
        return Ok(work.await?);
    }
    // Redrawn every 200 ms while the import runs; it ends as soon as the import does.
    tokio::pin!(work);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(200));
    let outcome = loop {
        tokio::select! {
            outcome = &mut work => break outcome,
            _ = tick.tick() => draw(&begun.progress, begun.total_bytes),
        }
    };
    draw(&begun.progress, begun.total_bytes);
    let _ = writeln!(std::io::stderr());
    Ok(outcome?)
}

/// `[#########           ]  45%  123456 rows`: bytes read against the file's size.
fn draw(progress: &ImportProgress, total: u64) {
    let c = progress.snapshot();
    let share = if total == 0 {
        1.0
    } else {
        (c.bytes_read as f64 / total as f64).min(1.0)
    };
    let filled = (share * 30.0).round() as usize;
    let _ = write!(
        std::io::stderr(),
        "\r[{}{}] {:>3}%  {} rows  {} errors",
        "#".repeat(filled),
        " ".repeat(30 - filled.min(30)),
        (share * 100.0).round(),
        c.rows_read,
        c.error_count
    );
}

/// The process's peak resident memory in KiB (`VmHWM` in /proc/self/status; Linux).
fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `consento bench-import --rows N --consents K`: generates a `;`-delimited file of N lines with
/// K consent columns each (dates, and a state for the first), imports it, and prints the
/// throughput and the peak resident memory. Run it on an empty database, with `--release`.
pub async fn bench(ctx: &mut Ctx<'_>, rows: u64, consents: u8) -> anyhow::Result<()> {
    if !(1..=8).contains(&consents) {
        anyhow::bail!("consents: give 1 to 8");
    }
    let codes: Vec<String> = (1..=consents).map(|k| format!("bench-{k}")).collect();
    for (k, code) in codes.iter().enumerate() {
        if ctx.store.consent_type(code).await.is_err() {
            ctx.store
                .create_consent_type(ConsentTypeSpec {
                    title: code.clone(),
                    code: ConsentCode::parse(code)?,
                    description: None,
                    validity_days: (k == 0).then_some(730),
                    permissions: Permissions {
                        email_bulk: true,
                        ..Permissions::default()
                    },
                    show_in_preference_center: false,
                    purpose: Default::default(),
                })
                .await?;
        }
    }
    let path =
        std::env::temp_dir().join(format!("consento-bench-import-{}.csv", std::process::id()));
    {
        let file = super::output::private_file(&path)?;
        let mut w = std::io::BufWriter::new(file);
        write!(w, "codice;nome;email;cellulare;stato_1")?;
        for code in &codes {
            write!(w, ";data_{code}")?;
        }
        writeln!(w)?;
        for i in 0..rows {
            let state = if i % 5 == 0 { "revocato" } else { "dato" };
            write!(
                w,
                "B{i};Persona {i};persona{i}@example.it;+39 3{i:09};{state}"
            )?;
            for k in 0..consents {
                write!(w, ";{:02}/03/2024", 1 + (i + u64::from(k)) % 28)?;
            }
            writeln!(w)?;
        }
        w.flush()?;
    }
    let mapping = Mapping {
        external_id: Some("codice".into()),
        name: Some("nome".into()),
        emails: vec!["email".into()],
        phones: vec!["cellulare".into()],
        consents: codes
            .iter()
            .enumerate()
            .map(|(k, code)| ConsentColumns {
                code: code.clone(),
                date: format!("data_{code}"),
                state: (k == 0).then(|| "stato_1".to_owned()),
            })
            .collect(),
        ..Mapping::default()
    };
    let job = ImportJob {
        source: "bench".into(),
        mapping: Some(mapping),
        delimiter: None,
        encoding: FileEncoding::default(),
        max_cell_bytes: DEFAULT_MAX_CELL_BYTES,
        path: path.clone(),
        file_name: "bench.csv".into(),
        started_by: "bench".into(),
        actor: Actor::new(ActorKind::System, "")?,
        zone: ctx.app.zone().clone(),
    };
    let started = std::time::Instant::now();
    let begun = begin(&ctx.store, &job).await?;
    let outcome = execute(&ctx.store, &job, &begun, Box::new(|_| {})).await;
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    let outcome = outcome?;
    if let Some(f) = outcome.failure {
        anyhow::bail!("{f}");
    }
    let c = outcome.counts;
    writeln!(
        ctx.out,
        "{} lines, {} contacts, {} consent rows in {seconds:.2} s (file hashed, read, written and committed): {:.0} lines/s, {:.0} consent rows/s; peak RSS {} MiB",
        c.rows_read,
        c.contacts_created,
        c.events_written,
        c.rows_read as f64 / seconds,
        c.events_written as f64 / seconds,
        peak_rss_kib().map_or_else(|| "?".to_owned(), |k| (k / 1024).to_string())
    )?;
    // The baseline in the same run (PostgreSQL): the ledger's rows alone, by a bare COPY into
    // a scratch copy of the ledger's table with its indexes.
    if let Some(took) = ctx.store.bench_raw_copy(c.events_written).await? {
        writeln!(
            ctx.out,
            "baseline: a raw COPY of {} ledger rows into a copy of consent_events with its indexes (no triggers, no foreign keys) in {:.2} s: {:.0} rows/s",
            c.events_written,
            took.as_secs_f64(),
            c.events_written as f64 / took.as_secs_f64()
        )?;
    }
    Ok(())
}
