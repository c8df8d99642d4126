//! `consento audience`: the newsletter's recipients streamed from the store to a CSV (RFC 4180)
//! or NDJSON file or standard output, row by row so memory stays flat, and the counts of who is
//! left out and why, on stderr (standard output carries the recipients).

use std::borrow::Cow;
use std::io::{BufWriter, Write};

use anyhow::Context as _;
use consento_domain::spreadsheet::Cells;
use consento_store::{AudienceCounts, AudienceMember, AudienceQuery};
use futures_util::TryStreamExt;

use super::output::json;
use super::{Ctx, parse_time};
use crate::cli::{AudienceArgs, AudienceFormat};

/// `consento audience`.
pub async fn run(ctx: &mut Ctx<'_>, a: AudienceArgs) -> anyhow::Result<()> {
    // One instant for the list and its counts: both describe the same send.
    let at = parse_time(ctx.app.zone(), "at", a.at.as_deref())?.unwrap_or_else(|| ctx.store.now());
    let query = AudienceQuery {
        type_code: a.type_code,
        at: Some(at),
    };
    if a.counts_only {
        let counts = ctx.store.audience_counts(&query).await?;
        return if ctx.json {
            json(ctx.out, &counts)
        } else {
            writeln!(ctx.out, "{}", counts_line(&counts))?;
            Ok(())
        };
    }
    let cells = Cells::raw(a.raw_csv);
    let written = if a.output == "-" {
        write_members(ctx, &query, (a.format, cells), None).await?
    } else {
        // Written beside the target and renamed at the end, so that a failed export never
        // leaves a file that looks complete.
        let partial = format!("{}.partial", a.output);
        let result = write_file(ctx, &query, (a.format, cells), &partial, &a.output).await;
        let renamed = result.and_then(|n| {
            std::fs::rename(&partial, &a.output)
                .with_context(|| format!("output: cannot write `{}`", a.output))?;
            Ok(n)
        });
        if renamed.is_err() {
            // Best effort: the error that matters is the one returned.
            let _ = std::fs::remove_file(&partial);
        }
        renamed?
    };
    // Counted after the stream, in a second query: on a live database a contact may change in
    // between, so the file's row count is the authority for what was written.
    let counts = ctx.store.audience_counts(&query).await?;
    let mut err = std::io::stderr().lock();
    if ctx.json {
        serde_json::to_writer(&mut err, &counts)?;
        writeln!(err)?;
    } else {
        if a.output != "-" {
            writeln!(err, "wrote {written} recipients to {}", a.output)?;
        }
        writeln!(err, "{}", counts_line(&counts))?;
    }
    Ok(())
}

/// Streams the recipients into the file at `path`; errors name `output`, the file asked for.
async fn write_file(
    ctx: &mut Ctx<'_>,
    query: &AudienceQuery,
    format: (AudienceFormat, Cells),
    path: &str,
    output: &str,
) -> anyhow::Result<u64> {
    let file = super::output::private_file(std::path::Path::new(path))
        .with_context(|| format!("output: cannot create `{output}`"))?;
    let mut file = BufWriter::new(file);
    let n = write_members(ctx, query, format, Some(&mut file)).await?;
    file.flush()
        .with_context(|| format!("output: cannot write `{output}`"))?;
    Ok(n)
}

/// Streams the recipients into `file`, or standard output when none; returns how many. CSV
/// cells are written as `cells` says (defused for spreadsheets unless `--raw-csv`).
async fn write_members(
    ctx: &mut Ctx<'_>,
    query: &AudienceQuery,
    (format, cells): (AudienceFormat, Cells),
    file: Option<&mut dyn Write>,
) -> anyhow::Result<u64> {
    let sink: &mut dyn Write = match file {
        Some(f) => f,
        None => &mut *ctx.out,
    };
    let mut members = ctx.store.audience(query).await?;
    let mut n = 0u64;
    match format {
        AudienceFormat::Csv => {
            let mut w = csv::Writer::from_writer(sink);
            w.write_record(["contact_id", "external_id", "email", "name"])?;
            while let Some(m) = members.try_next().await? {
                w.write_record(csv_row(&m, cells).iter().map(|c| c.as_bytes()))?;
                n += 1;
            }
            w.flush()?;
        }
        AudienceFormat::Ndjson => {
            while let Some(m) = members.try_next().await? {
                serde_json::to_writer(&mut *sink, &m)?;
                writeln!(sink)?;
                n += 1;
            }
        }
    }
    Ok(n)
}

fn csv_row(m: &AudienceMember, cells: Cells) -> [Cow<'_, str>; 4] {
    [
        Cow::Owned(m.contact_id.to_string()),
        cells.cell(m.external_id.as_deref().unwrap_or_default()),
        cells.cell(&m.email),
        cells.cell(m.name.as_deref().unwrap_or_default()),
    ]
}

/// `eligible 812; excluded: expired 95, no_consent 60, withdrawn 33`.
fn counts_line(c: &AudienceCounts) -> String {
    let excluded: Vec<String> = c
        .excluded
        .iter()
        .map(|(cause, n)| format!("{cause} {n}"))
        .collect();
    let total: i64 = c.excluded.values().sum();
    if excluded.is_empty() {
        format!("eligible {}; excluded 0", c.eligible)
    } else {
        format!(
            "eligible {}; excluded {total}: {}",
            c.eligible,
            excluded.join(", ")
        )
    }
}
