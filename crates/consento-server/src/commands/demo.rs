//! `consento demo`: a realistic, reproducible sample for trying Consento out and for measuring
//! it. It sets up the seed's example configuration (consent types, contact reasons, a privacy
//! notice) where missing, then loads contacts with Italian names, unique addresses and mobile
//! numbers, and varied consent histories (given, expired, withdrawn, refused, renewed, backdated
//! paper forms, revoked), in batches through `Store::bulk_load`; a small sample is then restricted
//! or objects, so every outcome of the decision shows up.
//!
//! A small splitmix64 generator seeded by `--seed` makes the names and histories the same on
//! every run. Identifiers (external id, email, phone) are derived from the contact's number,
//! which continues after the demo contacts already in the database, so running the demo twice
//! adds more contacts instead of failing on duplicates.

use std::collections::HashMap;
use std::time::Instant;

use consento_domain::time::MICROS_PER_DAY;
use consento_domain::{
    Actor, ActorKind, CollectionMethod, ConsentCode, ConsentTypeSpec, EventKind, Permissions,
    Timestamp,
};
use consento_store::{
    BulkContact, BulkEvent, ContactInput, ContactRef, NoticeInput, Store, StoreError,
};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use crate::cli::DemoArgs;
use crate::commands::Ctx;
use crate::commands::output::json;
use crate::rng::SplitMix64;

/// Contacts per `bulk_load` call: one transaction each, big enough to amortise the commit,
/// small enough to keep memory and the write lock's hold time modest.
const BATCH: usize = 5_000;

/// The privacy-notice version the demo publishes.
const NOTICE_VERSION: &str = "demo-2024-01";

const MALE: [&str; 40] = [
    "Marco",
    "Luca",
    "Giuseppe",
    "Giovanni",
    "Andrea",
    "Francesco",
    "Alessandro",
    "Matteo",
    "Lorenzo",
    "Davide",
    "Stefano",
    "Roberto",
    "Paolo",
    "Simone",
    "Antonio",
    "Fabio",
    "Riccardo",
    "Federico",
    "Gabriele",
    "Daniele",
    "Salvatore",
    "Vincenzo",
    "Massimo",
    "Claudio",
    "Pietro",
    "Tommaso",
    "Emanuele",
    "Nicola",
    "Giorgio",
    "Mario",
    "Leonardo",
    "Filippo",
    "Edoardo",
    "Alberto",
    "Enrico",
    "Carlo",
    "Michele",
    "Raffaele",
    "Domenico",
    "Niccolò",
];

const FEMALE: [&str; 40] = [
    "Giulia",
    "Francesca",
    "Chiara",
    "Sara",
    "Martina",
    "Valentina",
    "Alessandra",
    "Federica",
    "Elena",
    "Silvia",
    "Laura",
    "Paola",
    "Anna",
    "Maria",
    "Sofia",
    "Aurora",
    "Alice",
    "Giorgia",
    "Elisa",
    "Roberta",
    "Monica",
    "Claudia",
    "Barbara",
    "Cristina",
    "Simona",
    "Ilaria",
    "Serena",
    "Beatrice",
    "Camilla",
    "Veronica",
    "Daniela",
    "Emma",
    "Greta",
    "Noemi",
    "Rossella",
    "Marta",
    "Lucia",
    "Irene",
    "Caterina",
    "Benedetta",
];

const SURNAMES: [&str; 80] = [
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conti",
    "De Luca",
    "Mancini",
    "Costa",
    "Giordano",
    "Rizzo",
    "Lombardi",
    "Moretti",
    "Barbieri",
    "Fontana",
    "Santoro",
    "Mariani",
    "Rinaldi",
    "Caruso",
    "Ferrara",
    "Galli",
    "Martini",
    "Leone",
    "Longo",
    "Gentile",
    "Martinelli",
    "Vitale",
    "Lombardo",
    "Serra",
    "Coppola",
    "De Santis",
    "D'Angelo",
    "Marchetti",
    "Parisi",
    "Villa",
    "Conte",
    "Ferraro",
    "Ferri",
    "Fabbri",
    "Bianco",
    "Marini",
    "Grasso",
    "Valentini",
    "Messina",
    "Sala",
    "De Angelis",
    "Gatti",
    "Pellegrini",
    "Palumbo",
    "Sanna",
    "Farina",
    "Rizzi",
    "Monti",
    "Cattaneo",
    "Morelli",
    "Amato",
    "Silvestri",
    "Mazza",
    "Testa",
    "Grassi",
    "Carbone",
    "Giuliani",
    "Benedetti",
    "Barone",
    "Caputo",
    "Montanari",
    "Guerra",
    "Palmieri",
    "Bernardi",
    "Fiore",
    "D'Amico",
    "Piras",
    "Sorrentino",
];

const CITIES: [&str; 16] = [
    "Milano", "Roma", "Napoli", "Torino", "Palermo", "Genova", "Bologna", "Firenze", "Bari",
    "Catania", "Venezia", "Verona", "Padova", "Brescia", "Cagliari", "Bergamo",
];

/// Prefixes of Italian mobile operators.
const MOBILE_PREFIXES: [&str; 24] = [
    "320", "324", "327", "328", "329", "330", "331", "333", "334", "335", "338", "339", "340",
    "342", "345", "347", "348", "349", "350", "366", "380", "388", "389", "393",
];

const SOURCES: [&str; 8] = [
    "modulo web",
    "fiera Milano 2024",
    "punto vendita",
    "call center",
    "import gestionale 2022",
    "webinar",
    "negozio online",
    "passaparola",
];

const PURPOSES: [&str; 6] = [
    "gestione del contratto",
    "assistenza clienti",
    "marketing diretto",
    "newsletter",
    "profilazione",
    "ricerche di mercato",
];

const SEGMENTS: [&str; 3] = ["privato", "azienda", "pubblica amministrazione"];

/// Staff handles recorded as the actor of events entered by hand.
const STAFF: [&str; 4] = ["g.verdi", "s.conti", "callcenter.roma", "front.office"];

/// The seed's example consent types: code, title, description, validity, permissions, whether
/// the preference center shows it, and how many contacts in a thousand have any event of it.
struct DemoType {
    code: &'static str,
    title: &'static str,
    description: &'static str,
    validity_days: Option<u32>,
    permissions: Permissions,
    preference_center: bool,
    presence: u64,
}

const NONE: Permissions = Permissions {
    email_bulk: false,
    email_single: false,
    phone_call: false,
    sms_single: false,
    sms_bulk: false,
};

const TYPES: [DemoType; 4] = [
    DemoType {
        code: "NEWSLETTER",
        title: "Newsletter",
        description: "Invio periodico della newsletter con novità, offerte ed eventi.",
        validity_days: Some(365),
        permissions: Permissions {
            email_bulk: true,
            ..NONE
        },
        preference_center: true,
        presence: 620,
    },
    DemoType {
        code: "MAIL",
        title: "Email commerciali",
        description: "Comunicazioni commerciali inviate singolarmente via email da un operatore.",
        validity_days: Some(730),
        permissions: Permissions {
            email_single: true,
            ..NONE
        },
        preference_center: true,
        presence: 450,
    },
    DemoType {
        code: "PHONE",
        title: "Contatto telefonico",
        description: "Chiamate commerciali da operatori o da sistemi di chiamata (es. VoiSPEED).",
        validity_days: Some(365),
        permissions: Permissions {
            phone_call: true,
            ..NONE
        },
        preference_center: true,
        presence: 380,
    },
    DemoType {
        code: "SMS",
        title: "SMS promozionali",
        description: "Messaggi SMS con promozioni, singoli o in campagne massive.",
        validity_days: Some(180),
        permissions: Permissions {
            sms_single: true,
            sms_bulk: true,
            ..NONE
        },
        preference_center: true,
        presence: 280,
    },
];

/// The seed's kind of contact reasons: label and whether it is marketing.
const REASONS: [(&str, bool); 5] = [
    ("Richiesta del cliente", false),
    ("Assistenza post-vendita", false),
    ("Sollecito pagamento", false),
    ("Offerta commerciale", true),
    ("Follow-up preventivo", true),
];

const NOTICE_BODY: &str = "Informativa sul trattamento dei dati personali ai sensi degli \
articoli 13 e 14 del Regolamento (UE) 2016/679. Il titolare tratta i dati di contatto per la \
gestione del rapporto commerciale e, previo consenso, per l'invio di newsletter, comunicazioni \
commerciali via email, telefono e SMS e per la profilazione. Il consenso è facoltativo e può \
essere revocato in ogni momento dal centro preferenze o scrivendo al titolare.";

/// What happened to one consent of one contact.
#[derive(Clone, Copy)]
enum Story {
    /// Given within its validity.
    Recent,
    /// Given long ago and run out.
    Expired,
    /// Given, then withdrawn.
    Withdrawn,
    /// Asked, and said no.
    Refused,
    /// Given, ran out, renewed.
    Renewed,
    /// A paper form dated weeks before it was entered.
    Backdated,
    /// Given, then revoked by the controller (Registro pubblico delle opposizioni) or, for
    /// email, withdrawn with one click.
    Revoked,
}

const STORIES: [(Story, u64); 7] = [
    (Story::Recent, 480),
    (Story::Expired, 150),
    (Story::Withdrawn, 120),
    (Story::Refused, 100),
    (Story::Renewed, 70),
    (Story::Backdated, 50),
    (Story::Revoked, 30),
];

/// The demo's outcome, as printed.
#[derive(Debug, Serialize)]
struct Summary {
    seed: u64,
    contacts: usize,
    events: usize,
    batches: usize,
    restricted: usize,
    objected: usize,
    consent_types_created: Vec<String>,
    reasons_created: usize,
    notice_version: String,
    first_external_id: Option<String>,
    seconds: f64,
}

/// `consento demo`.
pub async fn command(ctx: &mut Ctx<'_>, args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let summary = load(&ctx.store, args.contacts, args.seed).await?;
    let summary = Summary {
        seconds: started.elapsed().as_secs_f64(),
        ..summary
    };
    if ctx.json {
        return json(ctx.out, &summary);
    }
    let out = &mut *ctx.out;
    if !summary.consent_types_created.is_empty() {
        writeln!(
            out,
            "created consent types {}",
            summary.consent_types_created.join(", ")
        )?;
    }
    if summary.reasons_created > 0 {
        writeln!(out, "created {} contact reasons", summary.reasons_created)?;
    }
    writeln!(
        out,
        "loaded {} contacts with {} consent events in {} {} (seed {})",
        summary.contacts,
        summary.events,
        summary.batches,
        if summary.batches == 1 {
            "batch"
        } else {
            "batches"
        },
        summary.seed
    )?;
    writeln!(
        out,
        "afterwards {} restricted (Art. 18) and {} objecting to marketing (Art. 21)",
        summary.restricted, summary.objected
    )?;
    let rate = if summary.seconds > 0.0 {
        summary.contacts as f64 / summary.seconds
    } else {
        0.0
    };
    writeln!(out, "took {:.1} s ({rate:.0} contacts/s)", summary.seconds)?;
    if let Some(ext) = &summary.first_external_id {
        writeln!(out, "try: consento contacts show {ext}")?;
        writeln!(out, "     consento decide {ext} --action email.bulk")?;
        writeln!(out, "     consento audience --counts-only")?;
    }
    Ok(())
}

async fn load(store: &Store, contacts: usize, seed: u64) -> anyhow::Result<Summary> {
    let consent_types_created = ensure_types(store).await?;
    let reasons_created = ensure_reasons(store).await?;
    ensure_notice(store).await?;
    // The validity actually stored, which may differ from the demo's if the type existed.
    let validity: HashMap<String, Option<u32>> = store
        .consent_types()
        .await?
        .into_iter()
        .map(|t| (t.spec.code.as_str().to_owned(), t.spec.validity_days))
        .collect();
    let first = demo_contacts_present(store).await? + 1;
    let now = store.now();
    let actors = Actors::new()?;
    let mut rng = SplitMix64(seed);
    let mut summary = Summary {
        seed,
        contacts: 0,
        events: 0,
        batches: 0,
        restricted: 0,
        objected: 0,
        consent_types_created,
        reasons_created,
        notice_version: NOTICE_VERSION.into(),
        first_external_id: (contacts > 0).then(|| external_id(first)),
        seconds: 0.0,
    };
    let mut to_restrict = Vec::new();
    let mut to_object = Vec::new();
    let mut k = first;
    let end = first + contacts as u64;
    while k < end {
        let batch_end = (k + BATCH as u64).min(end);
        let mut batch = Vec::with_capacity((batch_end - k) as usize);
        for n in k..batch_end {
            batch.push(contact(&mut rng, n, now, &validity, &actors));
            // A small sample restricts processing or objects to marketing after the load.
            match rng.below(1000) {
                0..5 => to_restrict.push(external_id(n)),
                5..20 => to_object.push(external_id(n)),
                _ => {}
            }
        }
        let report = store.bulk_load(batch).await?;
        summary.contacts += report.contacts;
        summary.events += report.events;
        summary.batches += 1;
        k = batch_end;
    }
    // One transaction each; run several at once so their reads overlap while the writes queue
    // for SQLite's single writer (PostgreSQL takes them in parallel).
    let flags = to_restrict
        .into_iter()
        .map(|ext| (ext, true))
        .chain(to_object.into_iter().map(|ext| (ext, false)));
    let mut results = stream::iter(flags)
        .map(|(ext, restrict)| async move {
            let r = ContactRef::External(ext);
            if restrict {
                store.set_restricted(&r, true).await.map(|_| restrict)
            } else {
                store.set_objected(&r, true).await.map(|_| restrict)
            }
        })
        .buffer_unordered(8);
    while let Some(restrict) = results.try_next().await? {
        if restrict {
            summary.restricted += 1;
        } else {
            summary.objected += 1;
        }
    }
    store.refresh_statistics().await?;
    Ok(summary)
}

fn external_id(n: u64) -> String {
    format!("DEMO-{n:06}")
}

/// Creates the demo's consent types that do not exist yet; returns their codes.
async fn ensure_types(store: &Store) -> anyhow::Result<Vec<String>> {
    let mut created = Vec::new();
    for t in &TYPES {
        match store.consent_type(t.code).await {
            Ok(_) => continue,
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        store
            .create_consent_type(ConsentTypeSpec {
                title: t.title.into(),
                code: ConsentCode::parse(t.code)?,
                description: Some(t.description.into()),
                validity_days: t.validity_days,
                permissions: t.permissions,
                show_in_preference_center: t.preference_center,
                purpose: Default::default(),
            })
            .await?;
        created.push(t.code.to_owned());
    }
    Ok(created)
}

/// Creates the demo's contact reasons that do not exist yet; returns how many.
async fn ensure_reasons(store: &Store) -> anyhow::Result<usize> {
    let existing: Vec<String> = store
        .reasons()
        .await?
        .into_iter()
        .map(|r| r.label)
        .collect();
    let mut created = 0;
    for (label, marketing) in REASONS {
        if !existing.iter().any(|l| l == label) {
            store.create_reason(label, marketing).await?;
            created += 1;
        }
    }
    Ok(created)
}

async fn ensure_notice(store: &Store) -> anyhow::Result<()> {
    if store
        .notices()
        .await?
        .iter()
        .any(|n| n.version == NOTICE_VERSION)
    {
        return Ok(());
    }
    store
        .publish_notice(NoticeInput {
            version: NOTICE_VERSION.into(),
            language: "it".into(),
            url: Some("https://www.example.it/privacy/2024-01".into()),
            body: Some(NOTICE_BODY.into()),
        })
        .await?;
    Ok(())
}

/// How many demo contacts the database already holds. Each batch is all or nothing and numbers
/// go up from 1, so the present ones are exactly 1..=m: find m by doubling, then bisecting, in
/// a few dozen indexed lookups.
async fn demo_contacts_present(store: &Store) -> anyhow::Result<u64> {
    async fn exists(store: &Store, n: u64) -> anyhow::Result<bool> {
        match store
            .resolve_contact(&ContactRef::External(external_id(n)))
            .await
        {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
    if !exists(store, 1).await? {
        return Ok(0);
    }
    let (mut present, mut absent) = (1u64, 2u64);
    while exists(store, absent).await? {
        present = absent;
        absent = absent.saturating_mul(2);
    }
    while absent - present > 1 {
        let mid = present + (absent - present) / 2;
        if exists(store, mid).await? {
            present = mid;
        } else {
            absent = mid;
        }
    }
    Ok(present)
}

/// The actors of demo events.
struct Actors {
    subject: Actor,
    system: Actor,
    staff: Vec<Actor>,
}

impl Actors {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            subject: Actor::new(ActorKind::Subject, "")?,
            system: Actor::new(ActorKind::System, "")?,
            staff: STAFF
                .iter()
                .map(|s| Actor::new(ActorKind::Operator, s))
                .collect::<Result<_, _>>()?,
        })
    }

    fn operator(&self, rng: &mut SplitMix64) -> Actor {
        let i = rng.below(self.staff.len() as u64) as usize;
        self.staff
            .get(i)
            .cloned()
            .unwrap_or_else(|| self.system.clone())
    }
}

/// Lower-case ASCII for an email local part: `D'Angelo` → `dangelo`, `Niccolò` → `niccolo`.
fn mailbox(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'à' | 'á' => Some('a'),
            'è' | 'é' => Some('e'),
            'ì' => Some('i'),
            'ò' => Some('o'),
            'ù' => Some('u'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// An Italian mobile number unique to contact `n`: the seven subscriber digits are a bijection
/// of `n` (multiplying by a number coprime to 10 permutes the residues modulo 10^7), so no two
/// demo contacts below ten million share one, whatever prefix they get.
fn mobile(rng: &mut SplitMix64, n: u64) -> String {
    let prefix = rng.pick(&MOBILE_PREFIXES);
    let subscriber = (n.wrapping_mul(7_919_993) + 1_234_567) % 10_000_000;
    let s = format!("{subscriber:07}");
    let (a, b) = s.split_at(3);
    // The spellings people and CRMs use; the store normalises them all to E.164.
    match rng.below(4) {
        0 => format!("+39 {prefix} {s}"),
        1 => format!("{prefix} {a} {b}"),
        2 => format!("0039{prefix}{s}"),
        _ => format!("{prefix}-{s}"),
    }
}

/// An instant `days` whole days and a random part of a day before `now`: never in the future.
fn days_ago(rng: &mut SplitMix64, now: Timestamp, days: u64) -> Timestamp {
    let micros = days
        .saturating_mul(MICROS_PER_DAY as u64)
        .saturating_add(rng.below(MICROS_PER_DAY as u64));
    Timestamp::from_micros(
        now.as_micros()
            .saturating_sub(i64::try_from(micros).unwrap_or(i64::MAX)),
    )
}

/// One demo contact with its consent history.
fn contact(
    rng: &mut SplitMix64,
    n: u64,
    now: Timestamp,
    validity: &HashMap<String, Option<u32>>,
    actors: &Actors,
) -> BulkContact {
    let first = if rng.chance(500) {
        rng.pick(&MALE)
    } else {
        rng.pick(&FEMALE)
    };
    let last = rng.pick(&SURNAMES);
    let mut emails = Vec::new();
    // A few contacts are known only by phone.
    if !rng.chance(20) {
        emails.push(format!(
            "{}.{}.{n}@example.it",
            mailbox(first),
            mailbox(last)
        ));
        if rng.chance(80) {
            emails.push(format!("{}{n}@lavoro.example.it", mailbox(last)));
        }
    }
    let phones = if rng.chance(850) {
        vec![mobile(rng, n)]
    } else {
        Vec::new()
    };
    let legal_basis = rng.weighted(&[("consent", 55), ("contract", 30), ("f", 15)]);
    let mut purposes = vec![rng.pick(&PURPOSES).to_owned()];
    if rng.chance(500) {
        purposes.push(rng.pick(&PURPOSES).to_owned());
    }
    let mut attributes = serde_json::Map::new();
    attributes.insert("citta".into(), rng.pick(&CITIES).into());
    attributes.insert("segmento".into(), rng.pick(&SEGMENTS).into());
    attributes.insert(
        "cliente_dal".into(),
        (2015 + rng.below(11)).to_string().into(),
    );
    let mut events = Vec::new();
    for t in &TYPES {
        if rng.chance(t.presence) {
            let days = validity.get(t.code).copied().unwrap_or(t.validity_days);
            story(rng, t.code, days, now, actors, &mut events);
        }
    }
    BulkContact {
        input: ContactInput {
            external_id: Some(external_id(n)),
            name: Some(format!("{first} {last}")),
            emails,
            phones,
            attributes,
            source: Some(rng.pick(&SOURCES).to_owned()),
            legal_basis: Some(legal_basis.to_owned()),
            purposes,
        },
        events,
    }
}

/// The events of one consent of one contact, following a story picked at random.
fn story(
    rng: &mut SplitMix64,
    code: &str,
    validity: Option<u32>,
    now: Timestamp,
    actors: &Actors,
    events: &mut Vec<BulkEvent>,
) {
    // A consent that never expires still gets stories on a two-year scale.
    let v = u64::from(validity.unwrap_or(730));
    let mut push =
        |kind: EventKind, event_time, (method, actor, evidence): (CollectionMethod, Actor, _)| {
            events.push(BulkEvent {
                type_code: code.to_owned(),
                kind,
                event_time,
                method,
                actor,
                evidence,
                // Given and renewed consents were collected under the demo's privacy notice.
                notice_version: kind.grants().then(|| NOTICE_VERSION.to_owned()),
            });
        };
    match rng.weighted(&STORIES) {
        Story::Recent => {
            let days = rng_days(rng, 0, v * 9 / 10);
            let t = days_ago(rng, now, days);
            push(EventKind::Given, t, given_how(rng, actors));
        }
        Story::Expired => {
            let days = v + rng_days(rng, 1, 900);
            let t = days_ago(rng, now, days);
            push(EventKind::Given, t, given_how(rng, actors));
        }
        Story::Withdrawn => {
            let given = rng_days(rng, 30, 30 + v.min(700));
            let withdrawn = rng_days(rng, 0, given - 1);
            let t = days_ago(rng, now, given);
            push(EventKind::Given, t, given_how(rng, actors));
            let t = days_ago(rng, now, withdrawn);
            push(EventKind::Withdrawn, t, withdrawn_how(rng, actors));
        }
        Story::Refused => {
            let days = rng_days(rng, 0, 900);
            let t = days_ago(rng, now, days);
            let how = if rng.chance(600) {
                (CollectionMethod::Form, actors.subject.clone(), None)
            } else {
                let n = rng.below(1_000_000);
                (
                    CollectionMethod::Phone,
                    actors.operator(rng),
                    Some(format!("registrazione chiamata REC-{n:06}")),
                )
            };
            push(EventKind::Refused, t, how);
        }
        Story::Renewed => {
            let renewed = rng_days(rng, 0, v * 8 / 10);
            let days = v + rng_days(rng, 1, 400);
            let t = days_ago(rng, now, days);
            push(EventKind::Given, t, given_how(rng, actors));
            let t = days_ago(rng, now, renewed);
            push(EventKind::Renewed, t, given_how(rng, actors));
        }
        Story::Backdated => {
            let days = rng_days(rng, 10, 90);
            let t = days_ago(rng, now, days);
            let year = t.utc_date().map_or(2024, |d| d.year());
            let n = rng.between(1, 9999);
            push(
                EventKind::Given,
                t,
                (
                    CollectionMethod::Paper,
                    actors.operator(rng),
                    Some(format!("modulo cartaceo prot. {year}/{n:04}")),
                ),
            );
        }
        Story::Revoked => {
            let given = rng_days(rng, 60, 60 + v.min(500));
            let t = days_ago(rng, now, given);
            push(EventKind::Given, t, given_how(rng, actors));
            let days = rng_days(rng, 0, 59);
            let t = days_ago(rng, now, days);
            if code == "PHONE" || code == "SMS" {
                push(
                    EventKind::Revoked,
                    t,
                    (
                        CollectionMethod::System,
                        actors.system.clone(),
                        Some("iscrizione al Registro pubblico delle opposizioni".into()),
                    ),
                );
            } else {
                push(
                    EventKind::Withdrawn,
                    t,
                    (
                        CollectionMethod::OneClickUnsubscribe,
                        actors.subject.clone(),
                        Some("List-Unsubscribe-Post (RFC 8058)".into()),
                    ),
                );
            }
        }
    }
}

fn rng_days(rng: &mut SplitMix64, lo: u64, hi: u64) -> u64 {
    rng.between(lo, hi.max(lo))
}

/// How a consent was given: method, actor, evidence.
fn given_how(rng: &mut SplitMix64, actors: &Actors) -> (CollectionMethod, Actor, Option<String>) {
    let n = rng.below(10_000_000);
    match rng.weighted(&[
        (CollectionMethod::Form, 35),
        (CollectionMethod::DoubleOptIn, 15),
        (CollectionMethod::Import, 20),
        (CollectionMethod::Paper, 10),
        (CollectionMethod::Phone, 10),
        (CollectionMethod::Email, 5),
        (CollectionMethod::PreferenceCenter, 5),
    ]) {
        CollectionMethod::Form => (
            CollectionMethod::Form,
            actors.subject.clone(),
            rng.chance(600)
                .then(|| format!("modulo web iscrizione, invio #{n}")),
        ),
        CollectionMethod::DoubleOptIn => (
            CollectionMethod::DoubleOptIn,
            actors.subject.clone(),
            Some(format!("conferma double opt-in, token {n:07x}")),
        ),
        CollectionMethod::Import => (
            CollectionMethod::Import,
            actors.system.clone(),
            Some(format!("import gestionale 2022, riga {}", n % 200_000)),
        ),
        CollectionMethod::Paper => (
            CollectionMethod::Paper,
            actors.operator(rng),
            Some(format!("modulo cartaceo prot. {}", n % 10_000)),
        ),
        CollectionMethod::Phone => (
            CollectionMethod::Phone,
            actors.operator(rng),
            Some(format!("registrazione chiamata REC-{:06}", n % 1_000_000)),
        ),
        CollectionMethod::Email => (
            CollectionMethod::Email,
            actors.operator(rng),
            Some(format!("email ricevuta, ticket #{n}")),
        ),
        other => (other, actors.subject.clone(), None),
    }
}

/// How a consent was withdrawn: method, actor, evidence.
fn withdrawn_how(
    rng: &mut SplitMix64,
    actors: &Actors,
) -> (CollectionMethod, Actor, Option<String>) {
    match rng.weighted(&[
        (CollectionMethod::OneClickUnsubscribe, 40),
        (CollectionMethod::PreferenceCenter, 30),
        (CollectionMethod::Email, 20),
        (CollectionMethod::Phone, 10),
    ]) {
        CollectionMethod::OneClickUnsubscribe => (
            CollectionMethod::OneClickUnsubscribe,
            actors.subject.clone(),
            Some("List-Unsubscribe-Post (RFC 8058)".into()),
        ),
        CollectionMethod::Email => (
            CollectionMethod::Email,
            actors.operator(rng),
            Some(format!("email di revoca, ticket #{}", rng.below(1_000_000))),
        ),
        CollectionMethod::Phone => (
            CollectionMethod::Phone,
            actors.operator(rng),
            Some(format!(
                "registrazione chiamata REC-{:06}",
                rng.below(1_000_000)
            )),
        ),
        other => (other, actors.subject.clone(), None),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use consento_domain::{Email, Phone};

    use super::*;

    fn sample(seed: u64, n: u64) -> Vec<BulkContact> {
        let now = Timestamp::parse("now", "2026-06-01T12:00:00Z").unwrap();
        let validity = TYPES
            .iter()
            .map(|t| (t.code.to_owned(), t.validity_days))
            .collect();
        let actors = Actors::new().unwrap();
        let mut rng = SplitMix64(seed);
        (1..=n)
            .map(|k| contact(&mut rng, k, now, &validity, &actors))
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_contacts() {
        let a = sample(7, 50);
        let b = sample(7, 50);
        let names = |v: &[BulkContact]| -> Vec<Option<String>> {
            v.iter().map(|c| c.input.name.clone()).collect()
        };
        assert_eq!(names(&a), names(&b));
        assert_ne!(names(&a), names(&sample(8, 50)));
    }

    #[test]
    fn events_are_never_in_the_future_and_identifiers_are_valid_and_unique() {
        let now = Timestamp::parse("now", "2026-06-01T12:00:00Z").unwrap();
        let contacts = sample(42, 5_000);
        let mut emails = HashSet::new();
        let mut phones = HashSet::new();
        for c in &contacts {
            for e in &c.events {
                assert!(e.event_time <= now);
            }
            for e in &c.input.emails {
                assert!(emails.insert(Email::parse(e).unwrap()), "{e}");
            }
            for p in &c.input.phones {
                let p = Phone::parse(p, "39").unwrap();
                assert!(p.as_str().starts_with("+393"), "{p}");
                assert_eq!(p.as_str().len(), 13, "{p}");
                assert!(phones.insert(p.clone()), "{p}");
            }
        }
    }

    #[test]
    fn every_story_shows_up_in_a_sample() {
        let contacts = sample(42, 2_000);
        let kinds: HashSet<EventKind> = contacts
            .iter()
            .flat_map(|c| c.events.iter().map(|e| e.kind))
            .collect();
        for k in EventKind::ALL {
            assert!(kinds.contains(k), "{k}");
        }
    }
}
