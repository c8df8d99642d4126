//! `consento bench`: measures Consento against the bare database on the same data, in the same
//! run, so the figures compare like with like: decisions against an indexed point lookup of the
//! same consent row, consent writes against a raw single-row durable insert, the newsletter
//! audience against the bare SQL filter, and the bulk load of the data set itself.

use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use consento_domain::{
    Action, Actor, ActorKind, CollectionMethod, ConsentCode, ConsentTypeSpec, EventKind,
    Permissions, Timestamp,
};
use consento_store::{
    AudienceQuery, BulkContact, BulkEvent, ConsentEventInput, ConsentStateCounts, ContactInput,
    ContactRef, ExpiringCount, Store,
};
use futures_util::TryStreamExt;
use serde::Serialize;

use super::Ctx;
use crate::rng::SplitMix64;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Contacts in the data set (each with `events_per_contact` consent events).
    pub contacts: usize,
    /// Consent events per contact.
    pub events_per_contact: usize,
    /// Decisions (and point lookups) per measurement.
    pub lookups: usize,
    /// Durable writes (and raw inserts) per measurement.
    pub writes: usize,
    /// Concurrent tasks for the concurrent measurements.
    pub concurrency: usize,
    /// Seed of the data generator.
    pub seed: u64,
    /// Whether to measure on the data set already loaded.
    pub skip_load: bool,
}

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// What was measured.
    pub name: String,
    /// Operations done.
    pub operations: u64,
    /// Wall time, in seconds.
    pub seconds: f64,
    /// Operations per second.
    pub per_second: f64,
}

impl Figure {
    fn new(name: &str, operations: u64, elapsed: Duration) -> Self {
        let seconds = elapsed.as_secs_f64();
        Self {
            name: name.to_owned(),
            operations,
            seconds,
            per_second: if seconds > 0.0 {
                operations as f64 / seconds
            } else {
                0.0
            },
        }
    }
}

/// Everything `consento bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Every figure, in the order measured.
    pub figures: Vec<Figure>,
    /// Consento's rate (or time) against its baseline, per comparison.
    pub ratios: Vec<(String, f64)>,
    /// Resident memory before streaming the audience (caches warm) and the most seen while
    /// streaming it, in KiB (Linux): flat memory means the two stay close whatever its size.
    pub rss_kib: (Option<u64>, Option<u64>),
    /// What group commit did during each consent-write measurement: the measurement, the
    /// groups of more than one event it committed, the events in them, and the writes made.
    pub group_commits: Vec<(String, u64, u64, u64)>,
}

const TYPES: [(&str, Option<u32>, Permissions); 3] = [
    (
        "BENCH_NEWS",
        Some(365),
        Permissions {
            email_bulk: true,
            email_single: false,
            phone_call: false,
            sms_single: false,
            sms_bulk: false,
        },
    ),
    (
        "BENCH_MAIL",
        Some(730),
        Permissions {
            email_bulk: false,
            email_single: true,
            phone_call: false,
            sms_single: false,
            sms_bulk: false,
        },
    ),
    (
        "BENCH_PHONE",
        None,
        Permissions {
            email_bulk: false,
            email_single: false,
            phone_call: true,
            sms_single: false,
            sms_bulk: false,
        },
    ),
];

/// The resident memory of this process now, in KiB (Linux only).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Loads the data set into an empty database and measures. Progress goes to `log`.
pub async fn run(
    store: &Store,
    opts: &BenchOptions,
    log: &mut dyn FnMut(&str),
) -> anyhow::Result<BenchReport> {
    let mut figures = Vec::new();
    let mut ratios = Vec::new();
    let now = store.now();
    for (code, validity, permissions) in TYPES {
        if store.consent_type(code).await.is_err() {
            store
                .create_consent_type(ConsentTypeSpec {
                    title: code.to_owned(),
                    code: ConsentCode::parse(code)?,
                    description: None,
                    validity_days: validity,
                    permissions,
                    show_in_preference_center: false,
                    purpose: Default::default(),
                })
                .await?;
        }
    }
    let actor = Actor::new(ActorKind::System, "bench")?;

    // 1. Bulk load.
    let contacts = if opts.skip_load { 0 } else { opts.contacts };
    log(&format!(
        "loading {} contacts with {} events each…",
        opts.contacts, opts.events_per_contact
    ));
    let mut rng = SplitMix64(opts.seed);
    let run_id = rng.next_u64() % 1_000_000_000;
    let started = Instant::now();
    let mut loaded_events = 0u64;
    let batch_size = 10_000;
    let mut done = 0;
    while done < contacts {
        let n = batch_size.min(contacts - done);
        let mut batch = Vec::with_capacity(n);
        for i in done..done + n {
            let events = (0..opts.events_per_contact)
                .map(|k| {
                    let (code, _, _) = TYPES[k % TYPES.len()];
                    let roll = rng.below(100);
                    let kind = match roll {
                        0..=69 => EventKind::Given,
                        70..=84 => EventKind::Withdrawn,
                        85..=89 => EventKind::Refused,
                        _ => EventKind::Renewed,
                    };
                    // Up to two years back: some consents are expired.
                    let age = rng.below(730 * 86_400) as i64 + 60;
                    BulkEvent {
                        type_code: code.to_owned(),
                        kind,
                        event_time: Timestamp::from_micros(
                            now.as_micros() - age * 1_000_000 - k as i64,
                        ),
                        method: CollectionMethod::Import,
                        actor: actor.clone(),
                        evidence: None,
                        notice_version: None,
                    }
                })
                .collect();
            batch.push(BulkContact {
                input: ContactInput {
                    external_id: Some(format!("B{run_id}-{i}")),
                    name: Some(format!("Contatto {i}")),
                    emails: vec![format!("c{i}.{run_id}@bench.example.it")],
                    ..ContactInput::default()
                },
                events,
            });
        }
        let report = store.bulk_load(batch).await?;
        loaded_events += report.events as u64;
        done += n;
        if done.is_multiple_of(100_000) || done == contacts {
            log(&format!(
                "  {done} contacts, {loaded_events} events, {:.1} s",
                started.elapsed().as_secs_f64()
            ));
        }
    }
    let load = started.elapsed();
    if !opts.skip_load {
        figures.push(Figure::new("bulk load: contacts", contacts as u64, load));
        figures.push(Figure::new(
            "bulk load: consent events",
            loaded_events,
            load,
        ));
        // Not part of the load's time: PostgreSQL's planner statistics, refreshed as any bulk
        // load should be followed (a no-op on SQLite).
        store.refresh_statistics().await?;
    }

    // Sample pairs spread over the whole data set: chunks at random offsets, shuffled.
    let rows = (opts.contacts * opts.events_per_contact) as u64;
    let chunks = 20;
    let per_chunk = opts.lookups.div_ceil(chunks) as i64;
    let mut shuffled = Vec::with_capacity(opts.lookups);
    for _ in 0..chunks {
        let offset = rng.below(rows.saturating_sub(per_chunk as u64).max(1)) as i64;
        shuffled.extend(store.bench_sample_pairs(offset, per_chunk).await?);
    }
    anyhow::ensure!(!shuffled.is_empty(), "the data set has no consent rows");
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.below(i as u64 + 1) as usize);
    }

    // 2. Decisions against point lookups, one task and then `concurrency` tasks, alternating so
    //    that neither gets a warmer cache.
    log("measuring decisions against point lookups…");
    for tasks in [1, opts.concurrency] {
        let (lookup, decide, ratio) = compare(
            tasks,
            (
                &format!("point lookup, {tasks} task(s)"),
                &shuffled,
                |(contact, consent_type)| async move {
                    store
                        .bench_point_lookup(contact, consent_type)
                        .await
                        .map(|_| ())
                },
            ),
            (
                &format!("decision, {tasks} task(s)"),
                &shuffled,
                |(contact, _)| async move {
                    store
                        .decide(&ContactRef::Id(contact), Action::EmailBulk, None)
                        .await
                        .map(|_| ())
                },
            ),
        )
        .await?;
        ratios.push((format!("decisions / point lookups, {tasks} task(s)"), ratio));
        figures.push(lookup);
        figures.push(decide);
    }

    // 3. Durable writes against raw inserts.
    log("measuring durable writes against raw inserts…");
    store.bench_prepare_raw_inserts().await?;
    let writers: Vec<_> = shuffled.iter().take(opts.writes).copied().collect();
    let mut next_raw = 0i64;
    let mut group_commits = Vec::new();
    for tasks in [1, opts.concurrency] {
        let groups_before = store.group_commit_stats();
        let base = next_raw;
        let ids: Vec<i64> = (0..writers.len() as i64).map(|i| base + i).collect();
        next_raw += writers.len() as i64;
        let actor = &actor;
        let (raw, write, ratio) = compare(
            tasks,
            (
                &format!("raw durable insert, {tasks} task(s)"),
                &ids,
                |id| async move { store.bench_raw_insert(id, store.now()).await },
            ),
            (
                &format!("consent write, {tasks} task(s)"),
                &writers,
                |(contact, _)| async move {
                    store
                        .record_consent(ConsentEventInput {
                            contact: ContactRef::Id(contact),
                            type_code: "BENCH_NEWS".into(),
                            kind: EventKind::Renewed,
                            event_time: None,
                            method: CollectionMethod::Api,
                            actor: actor.clone(),
                            notice_version: None,
                            evidence: None,
                        })
                        .await
                        .map(|_| ())
                },
            ),
        )
        .await?;
        let groups_after = store.group_commit_stats();
        group_commits.push((
            format!("consent write, {tasks} task(s)"),
            groups_after.groups - groups_before.groups,
            groups_after.grouped_events - groups_before.grouped_events,
            writers.len() as u64,
        ));
        ratios.push((
            format!("consent writes / raw inserts, {tasks} task(s)"),
            ratio,
        ));
        figures.push(raw);
        figures.push(write);
    }

    // 4. The audience against the bare filter (each run twice, the second timed, so both read
    //    a warm cache).
    log("measuring the audience against the bare SQL filter…");
    let news = store.consent_type("BENCH_NEWS").await?;
    let at = store.now();
    let query = AudienceQuery {
        type_code: Some("BENCH_NEWS".into()),
        at: Some(at),
    };
    // A first pass warms the page caches (SQLite's, per connection, up to its configured size);
    // the second is timed, and memory is sampled while it streams: it must not grow with rows.
    let mut bare = (0, Duration::ZERO);
    let mut full = (0, Duration::ZERO);
    let mut rss_before = None;
    let mut rss_max = None;
    for pass in 0..2 {
        let t = Instant::now();
        let n = store.bench_bare_filter(news.id, at).await?;
        bare = (n, t.elapsed());
        if pass == 1 {
            rss_before = rss_kib();
            rss_max = rss_before;
        }
        let t = Instant::now();
        let mut stream = store.audience(&query).await?;
        let mut n = 0u64;
        while stream
            .try_next()
            .await
            .context("streaming the audience")?
            .is_some()
        {
            n += 1;
            if pass == 1 && n.is_multiple_of(20_000) {
                rss_max = rss_max.max(rss_kib());
            }
        }
        full = (n, t.elapsed());
    }
    let t = Instant::now();
    let counts = store
        .audience_counts(&AudienceQuery {
            type_code: Some("BENCH_NEWS".into()),
            at: Some(at),
        })
        .await?;
    let counts_time = t.elapsed();
    figures.push(Figure::new("bare SQL filter (rows)", bare.0, bare.1));
    figures.push(Figure::new("audience stream (rows)", full.0, full.1));
    figures.push(Figure::new(
        "audience excluded counts (contacts classified)",
        (counts.eligible + counts.excluded.values().sum::<i64>()) as u64,
        counts_time,
    ));
    ratios.push((
        "audience time / bare filter time".into(),
        full.1.as_secs_f64() / bare.1.as_secs_f64().max(1e-9),
    ));

    Ok(BenchReport {
        backend: format!("{:?}", store.backend()).to_lowercase(),
        figures,
        ratios,
        rss_kib: (rss_before, rss_max),
        group_commits,
    })
}

/// Rounds of a comparison: the baseline and the subject take turns, each round on the next slice
/// of the items and with the order swapped every round, so that drift on a shared machine (other
/// processes, a checkpoint, the CPU's clock) falls on both alike.
const ROUNDS: usize = 5;

/// Measures a baseline and a subject in [`ROUNDS`] interleaved rounds. Returns both figures
/// (totals over all rounds) and the median of the per-round ratios of their rates.
async fn compare<B, S, BF, BFut, SF, SFut>(
    tasks: usize,
    baseline: (&str, &[B], BF),
    subject: (&str, &[S], SF),
) -> anyhow::Result<(Figure, Figure, f64)>
where
    B: Copy,
    S: Copy,
    BF: Fn(B) -> BFut,
    BFut: std::future::Future<Output = Result<(), consento_store::StoreError>>,
    SF: Fn(S) -> SFut,
    SFut: std::future::Future<Output = Result<(), consento_store::StoreError>>,
{
    let (b_name, b_items, b_op) = baseline;
    let (s_name, s_items, s_op) = subject;
    let b_chunk = b_items.len().div_ceil(ROUNDS).max(1);
    let s_chunk = s_items.len().div_ceil(ROUNDS).max(1);
    let (mut b_total, mut s_total) = (Duration::ZERO, Duration::ZERO);
    let mut round_ratios = Vec::with_capacity(ROUNDS);
    for (round, (b_part, s_part)) in b_items
        .chunks(b_chunk)
        .zip(s_items.chunks(s_chunk))
        .enumerate()
    {
        let (b_time, s_time) = if round % 2 == 0 {
            let b = measure(tasks, b_part, &b_op).await?;
            (b, measure(tasks, s_part, &s_op).await?)
        } else {
            let s = measure(tasks, s_part, &s_op).await?;
            (measure(tasks, b_part, &b_op).await?, s)
        };
        b_total += b_time;
        s_total += s_time;
        let b_rate = b_part.len() as f64 / b_time.as_secs_f64().max(1e-9);
        let s_rate = s_part.len() as f64 / s_time.as_secs_f64().max(1e-9);
        round_ratios.push(s_rate / b_rate);
    }
    round_ratios.sort_by(f64::total_cmp);
    let median = round_ratios
        .get(round_ratios.len() / 2)
        .copied()
        .unwrap_or(0.0);
    Ok((
        Figure::new(b_name, b_items.len() as u64, b_total),
        Figure::new(s_name, s_items.len() as u64, s_total),
        median,
    ))
}

/// Runs `op` over every item with `tasks` concurrent tasks and returns the wall time.
async fn measure<T, F, Fut>(tasks: usize, items: &[T], op: &F) -> anyhow::Result<Duration>
where
    T: Copy,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<(), consento_store::StoreError>>,
{
    let started = Instant::now();
    let chunk = items.len().div_ceil(tasks.max(1)).max(1);
    let workers = items.chunks(chunk).map(|part| async move {
        for item in part {
            op(*item).await?;
        }
        Ok::<(), consento_store::StoreError>(())
    });
    futures_util::future::try_join_all(workers).await?;
    Ok(started.elapsed())
}

/// `consento bench`: runs [`run`] and prints the figures (a table, or JSON with `--json`).
pub async fn command(ctx: &mut Ctx<'_>, args: crate::cli::BenchArgs) -> anyhow::Result<()> {
    let opts = BenchOptions {
        contacts: args.contacts,
        events_per_contact: args.events_per_contact,
        lookups: args.lookups,
        writes: args.writes,
        concurrency: args.concurrency.max(1),
        seed: args.seed,
        skip_load: args.skip_load,
    };
    let mut log = |line: &str| {
        // Progress goes to stderr so that `--json` output stays clean.
        let _ = writeln!(std::io::stderr(), "{line}");
    };
    let report = run(&ctx.store, &opts, &mut log).await?;
    if ctx.json {
        serde_json::to_writer_pretty(&mut *ctx.out, &report)?;
        writeln!(ctx.out)?;
        return Ok(());
    }
    writeln!(ctx.out, "backend: {}", report.backend)?;
    writeln!(
        ctx.out,
        "{:<52} {:>12} {:>10} {:>14}",
        "measurement", "operations", "seconds", "per second"
    )?;
    for f in &report.figures {
        writeln!(
            ctx.out,
            "{:<52} {:>12} {:>10.3} {:>14.0}",
            f.name, f.operations, f.seconds, f.per_second
        )?;
    }
    for (name, ratio) in &report.ratios {
        writeln!(ctx.out, "{name:<52} {ratio:>12.2}")?;
    }
    for (name, groups, grouped, writes) in &report.group_commits {
        writeln!(
            ctx.out,
            "{name}: {grouped} of {writes} events committed in {groups} groups ({:.1} a group)",
            *grouped as f64 / (*groups).max(1) as f64
        )?;
    }
    if let (Some(before), Some(max)) = report.rss_kib {
        writeln!(
            ctx.out,
            "resident memory before the audience {before} KiB, most while streaming it {max} KiB"
        )?;
    }
    Ok(())
}

/// The runs [`export`] takes the median of.
const BENCH_RUNS: usize = 20;

/// `consento bench-export`: creates a contact with `events` consent events (given and withdrawn
/// in turn, a minute apart, ending now) and prints the median time of an export in each form.
/// The target: under 50 ms with 10,000 events.
pub async fn export(ctx: &mut Ctx<'_>, events: usize) -> anyhow::Result<()> {
    use consento_app::export::ExportFormat;
    use consento_domain::{
        Actor, ActorKind, CollectionMethod, ConsentCode, ConsentTypeSpec, EventKind, Permissions,
    };
    use consento_store::{BulkContact, BulkEvent, ContactInput, ContactRef};

    let store = &ctx.store;
    let code = "bench-export";
    if store.consent_type(code).await.is_err() {
        store
            .create_consent_type(ConsentTypeSpec {
                title: "Bench export".to_owned(),
                code: ConsentCode::parse(code)?,
                description: None,
                validity_days: Some(730),
                permissions: Permissions {
                    email_bulk: true,
                    ..Permissions::default()
                },
                show_in_preference_center: false,
                purpose: Default::default(),
            })
            .await?;
    }
    let now = store.now().as_micros();
    let minute = 60_000_000_i64;
    let actor = Actor::new(ActorKind::System, "")?;
    let count = i64::try_from(events)?;
    let history = (0..count)
        .map(|i| BulkEvent {
            type_code: code.to_owned(),
            kind: if i % 2 == 0 {
                EventKind::Given
            } else {
                EventKind::Withdrawn
            },
            event_time: Timestamp::from_micros(now - (count - i) * minute),
            method: CollectionMethod::Import,
            actor: actor.clone(),
            evidence: Some(format!("bench line {i}")),
            notice_version: None,
        })
        .collect();
    let report = store
        .bulk_load(vec![BulkContact {
            input: ContactInput {
                name: Some("Bench Export".to_owned()),
                ..ContactInput::default()
            },
            events: history,
        }])
        .await?;
    let id = *report
        .contact_ids
        .first()
        .ok_or_else(|| anyhow::anyhow!("the bulk load created no contact"))?;
    writeln!(
        ctx.out,
        "contact {id} with {} consent events",
        report.events
    )?;
    let mut reads = Vec::with_capacity(BENCH_RUNS);
    for _ in 0..BENCH_RUNS {
        let started = std::time::Instant::now();
        store.export_contact(&ContactRef::Id(id)).await?;
        reads.push(started.elapsed());
    }
    reads.sort();
    writeln!(
        ctx.out,
        "read median {:>8.2} ms over {BENCH_RUNS} runs (the store alone)",
        reads[BENCH_RUNS / 2].as_secs_f64() * 1e3
    )?;
    for format in [ExportFormat::Json, ExportFormat::Csv] {
        let mut times = Vec::with_capacity(BENCH_RUNS);
        let mut size = 0;
        for _ in 0..BENCH_RUNS {
            let started = std::time::Instant::now();
            let file = consento_app::export::export(&ctx.app, id, format).await?;
            times.push(started.elapsed());
            size = file.body.len();
        }
        times.sort();
        let median = times[BENCH_RUNS / 2];
        writeln!(
            ctx.out,
            "{:<4} median {:>8.2} ms over {BENCH_RUNS} runs (min {:.2} ms, max {:.2} ms), {size} bytes",
            format.code(),
            median.as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            times[BENCH_RUNS - 1].as_secs_f64() * 1e3,
        )?;
    }
    Ok(())
}

/// `consento bench-audience`: the newsletter audience on the database as it is, the audience index
/// against the reference computed in SQL, in the same run: the counts and the full list by SQL;
/// the index's build (what the first audience of a process pays); then `rounds` warm counts and
/// lists, and counts right after a change (one contact restricted and released, as another
/// process would: the index reads that contact again). The console's overview (every type by
/// state, and what expires in 30 days) too, from the index and by SQL. With the resident memory
/// before and after the build.
pub async fn audience(ctx: &mut Ctx<'_>, rounds: usize) -> anyhow::Result<()> {
    let store = &ctx.store;
    let q = AudienceQuery::default();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let rss = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        format!("VmRSS {}, RssAnon {}", field("VmRSS:"), field("RssAnon:"))
    };
    let asked = &q;
    let list = |by_sql: bool| async move {
        let started = Instant::now();
        let stream = if by_sql {
            store.audience_by_sql(asked).await?
        } else {
            store.audience(asked).await?
        };
        let n = stream
            .try_fold(0u64, |n, _| async move { Ok(n + 1) })
            .await?;
        anyhow::Ok((n, started.elapsed()))
    };
    writeln!(ctx.out, "before: {}", rss())?;
    for round in 0..2 {
        let started = Instant::now();
        let counts = store.audience_counts_by_sql(&q).await?;
        let took = started.elapsed();
        writeln!(
            ctx.out,
            "sql counts (run {}): {:>9.1} ms  eligible {} excluded {:?}",
            round + 1,
            ms(took),
            counts.eligible,
            counts.excluded
        )?;
    }
    let (n, took) = list(true).await?;
    writeln!(
        ctx.out,
        "sql list:             {:>9.1} ms  {n} recipients",
        ms(took)
    )?;
    let now = store.now();
    let until = now.plus_days(30);
    let started = Instant::now();
    let (states, expiring) = tokio::try_join!(
        store.consent_state_counts_by_sql(now),
        store.expiring_counts_by_sql(now, until)
    )?;
    let overview_by_sql = (states, expiring);
    writeln!(
        ctx.out,
        "sql overview:         {:>9.1} ms  {} types",
        ms(started.elapsed()),
        overview_by_sql.0.len()
    )?;
    store.forget_audience_index().await;
    let started = Instant::now();
    let size = store.audience_index_size().await?;
    writeln!(
        ctx.out,
        "index build:          {:>9.1} ms  {size:?}",
        ms(started.elapsed())
    )?;
    writeln!(ctx.out, "after the build: {}", rss())?;
    let mut counts_times = Vec::new();
    let mut list_times = Vec::new();
    let mut overview_times = Vec::new();
    let mut counts = None;
    let mut overview = None;
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        counts = Some(store.audience_counts(&q).await?);
        counts_times.push(started.elapsed());
        let (n, took) = list(false).await?;
        list_times.push((took, n));
        let started = Instant::now();
        overview = Some(store.consent_overview(now, until).await?);
        overview_times.push(started.elapsed());
    }
    counts_times.sort();
    list_times.sort();
    overview_times.sort();
    // Sorted times: the median, how many, and the fastest and slowest.
    let spread = |v: &[Duration]| {
        let at = |d: Option<&Duration>| ms(d.copied().unwrap_or_default());
        format!(
            "{:>9.1} ms median of {} (min {:.1}, max {:.1})",
            at(v.get(v.len() / 2)),
            v.len(),
            at(v.first()),
            at(v.last())
        )
    };
    if let Some(c) = &counts {
        writeln!(
            ctx.out,
            "index counts (warm):  {}  eligible {} excluded {:?}",
            spread(&counts_times),
            c.eligible,
            c.excluded
        )?;
    }
    let list_only: Vec<Duration> = list_times.iter().map(|(d, _)| *d).collect();
    writeln!(
        ctx.out,
        "index list (warm):    {}  {} recipients",
        spread(&list_only),
        list_times.first().map(|(_, n)| *n).unwrap_or_default()
    )?;
    // The same figures either way, whatever order each gives the types in.
    let by_code = |(mut states, mut expiring): (Vec<ConsentStateCounts>, Vec<ExpiringCount>)| {
        states.sort_by(|a, b| a.code.cmp(&b.code));
        expiring.sort_by(|a, b| a.code.cmp(&b.code));
        (states, expiring)
    };
    writeln!(
        ctx.out,
        "index overview (warm): {}  same as sql: {}",
        spread(&overview_times),
        overview.map(by_code) == Some(by_code(overview_by_sql))
    )?;
    if let Some(first) = store.list_contacts(None, 1).await?.first() {
        let who = ContactRef::Id(first.id);
        for restricted in [true, false] {
            store.set_restricted(&who, restricted).await?;
            let started = Instant::now();
            let c = store.audience_counts(&q).await?;
            writeln!(
                ctx.out,
                "index counts after one contact {}: {:>7.1} ms  eligible {}",
                if restricted { "restricted" } else { "released" },
                ms(started.elapsed()),
                c.eligible
            )?;
        }
    }
    writeln!(ctx.out, "at the end: {}", rss())?;
    Ok(())
}
