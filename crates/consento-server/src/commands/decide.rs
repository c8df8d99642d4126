//! `consento decide` (may this contact be reached, and by which rule) and `consento justify`
//! (recording a justified contact). Every outcome of `decide` is an answer, not an error: it
//! exits 0 whether the contact is allowed, needs a reason or is blocked.

use consento_domain::{Action, AllowedBy, Cause, Decision, Zone};
use consento_store::DecisionReport;
use serde::Serialize;

use super::output::{day, json};
use super::{Ctx, parse_ref, parse_time};
use crate::cli::{DecideArgs, JustifyArgs};

/// `consento decide`.
pub async fn decide(ctx: &mut Ctx<'_>, a: DecideArgs) -> anyhow::Result<()> {
    let action = Action::parse(&a.action)?;
    let at = parse_time(ctx.app.zone(), "at", a.at.as_deref())?;
    let report = ctx.app.decide(&parse_ref(&a.contact), action, at).await?;
    if ctx.json {
        return json(ctx.out, &report);
    }
    let zone = ctx.app.zone().clone();
    writeln!(ctx.out, "{}", sentence(&zone, &report.decision, action))?;
    if let Decision::NeedsJustification {
        marketing_reasons_allowed,
        ..
    } = report.decision
    {
        // Offer the reasons that would be accepted, so the operator can go on at once.
        let reasons: Vec<_> = ctx
            .store
            .reasons()
            .await?
            .into_iter()
            .filter(|r| r.active && (marketing_reasons_allowed || !r.marketing))
            .collect();
        writeln!(
            ctx.out,
            "  consento justify {} --action {action} --reason <ID> [--note TEXT]",
            shell_word(&a.contact)
        )?;
        if reasons.is_empty() {
            writeln!(
                ctx.out,
                "  no active reason qualifies: add one with `consento reasons add`"
            )?;
        }
        for r in reasons {
            let kind = if r.marketing {
                "marketing"
            } else {
                "not marketing"
            };
            writeln!(ctx.out, "  {}  {} ({kind})", r.id, r.label)?;
        }
    }
    Ok(())
}

/// The outcome and the rule in one line, e.g. `allowed: consent NEWSLETTER given 2025-03-01,
/// expires 2026-03-01` or `blocked: withdrawn (NEWSLETTER on 2025-03-03)`.
fn sentence(zone: &Zone, d: &Decision, action: Action) -> String {
    match d {
        Decision::Allowed {
            allowed_by: AllowedBy::CheckDisabled,
        } => format!("allowed: check_disabled (the privacy setting that checks {action} is off)"),
        Decision::Allowed {
            allowed_by:
                AllowedBy::Consent {
                    code,
                    given_at,
                    expires_at,
                    ..
                },
        } => format!(
            "allowed: consent {code} given {}, {}",
            day(zone, *given_at),
            expires_at.map_or_else(
                || "never expires".into(),
                |e| format!("expires {}", day(zone, e))
            )
        ),
        Decision::NeedsJustification {
            cause,
            marketing_reasons_allowed,
        } => format!(
            "needs_justification: {}; pick a {}reason:",
            cause_text(zone, cause, action),
            if *marketing_reasons_allowed {
                ""
            } else {
                "non-marketing "
            }
        ),
        Decision::Blocked { cause } => format!("blocked: {}", cause_text(zone, cause, action)),
    }
}

/// The cause's code first (what scripts match on), then its particulars.
fn cause_text(zone: &Zone, c: &Cause, action: Action) -> String {
    match c {
        Cause::Erased => "erased (the contact was erased, GDPR Art. 17)".into(),
        Cause::Restricted { since } => format!(
            "restricted (processing restricted since {}, GDPR Art. 18)",
            day(zone, *since)
        ),
        Cause::Objected { since } => format!(
            "objected (objection to direct marketing since {}, GDPR Art. 21(3))",
            day(zone, *since)
        ),
        Cause::ChannelOff { channel, since } => format!(
            "channel_off (the person switched {channel} off on {})",
            day(zone, *since)
        ),
        Cause::Suppressed => "suppressed (the address or number is on the suppression list)".into(),
        Cause::NoConsent => format!("no_consent (no consent of a type that permits {action})"),
        Cause::Refused { code, at } => format!("refused ({code} on {})", day(zone, *at)),
        Cause::Withdrawn { code, at } => format!("withdrawn ({code} on {})", day(zone, *at)),
        Cause::Expired { code, at } => format!("expired ({code} on {})", day(zone, *at)),
        Cause::OutsideCallingHours {
            next_allowed_at, ..
        } => match next_allowed_at {
            Some(next) => format!(
                "outside_calling_hours (telemarketing calls may be placed from {})",
                super::output::local_time(zone, *next)
            ),
            None => "outside_calling_hours (no calling window opens in the next two weeks)".into(),
        },
        Cause::SilentCallCooldown { until } => format!(
            "silent_call_cooldown (a silent call reached the number: no telemarketing call before {})",
            super::output::local_time(zone, *until)
        ),
        Cause::RpoEnrolled { found_at } => format!(
            "rpo_enrolled (the number is in the Registro pubblico delle opposizioni since the check of {}, and no consent was given after)",
            day(zone, *found_at)
        ),
        Cause::RpoCheckMissing => "rpo_check_missing (the number was never checked against the Registro pubblico delle opposizioni: `consento rpo export`, then `consento rpo import`)".into(),
        Cause::RpoCheckExpired { expired_at } => format!(
            "rpo_check_expired (the check against the Registro pubblico delle opposizioni stopped counting at {}: check the number again)",
            super::output::local_time(zone, *expired_at)
        ),
    }
}

/// The reference as the operator can paste it back into a shell.
fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@.+-_:".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[derive(Serialize)]
struct Justified<'a> {
    decision: &'a DecisionReport,
    interaction: Option<&'a consento_store::Interaction>,
}

/// `consento justify`.
pub async fn justify(ctx: &mut Ctx<'_>, a: JustifyArgs) -> anyhow::Result<()> {
    let action = Action::parse(&a.action)?;
    let reason = consento_domain::ReasonId::parse("reason", &a.reason)?;
    // Audited by the app with the justified contact it records, in its transaction.
    let (report, interaction) = ctx
        .app
        .justify(
            &ctx.by(),
            &parse_ref(&a.contact),
            action,
            reason,
            a.note.as_deref(),
            &ctx.operator,
        )
        .await?;
    if ctx.json {
        return json(
            ctx.out,
            &Justified {
                decision: &report,
                interaction: interaction.as_ref(),
            },
        );
    }
    match interaction {
        Some(i) => {
            writeln!(
                ctx.out,
                "justified: {} to contact {} by {} at {} for reason \"{}\" (cause {}){}",
                i.action,
                i.contact_id,
                i.operator,
                i.occurred_at,
                i.reason_label.as_deref().unwrap_or_default(),
                i.cause.as_deref().unwrap_or("-"),
                i.note
                    .as_deref()
                    .map(|n| format!(", note: {n}"))
                    .unwrap_or_default()
            )?;
        }
        None => writeln!(
            ctx.out,
            "nothing to justify: {}",
            sentence(ctx.app.zone(), &report.decision, action)
        )?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use consento_domain::{ConsentCode, Timestamp};

    use super::*;

    #[test]
    fn an_allowing_consent_is_cited_with_its_dates() {
        let d = Decision::Allowed {
            allowed_by: AllowedBy::Consent {
                code: ConsentCode::parse("NEWSLETTER").unwrap(),
                given_at: Timestamp::parse("t", "2025-03-01").unwrap(),
                expires_at: Some(Timestamp::parse("t", "2026-03-01").unwrap()),
                marketing: true,
            },
        };
        assert_eq!(
            sentence(&Zone::rome(), &d, Action::EmailBulk),
            "allowed: consent NEWSLETTER given 2025-03-01, expires 2026-03-01"
        );
    }

    #[test]
    fn a_withdrawal_is_cited_with_its_date() {
        let d = Decision::Blocked {
            cause: Cause::Withdrawn {
                code: ConsentCode::parse("NEWSLETTER").unwrap(),
                at: Timestamp::parse("t", "2025-03-03").unwrap(),
            },
        };
        assert_eq!(
            sentence(&Zone::rome(), &d, Action::EmailBulk),
            "blocked: withdrawn (NEWSLETTER on 2025-03-03)"
        );
    }

    #[test]
    fn a_reference_with_spaces_is_quoted_for_the_shell() {
        assert_eq!(shell_word("+39 333 1234567"), "'+39 333 1234567'");
        assert_eq!(shell_word("mario@example.it"), "mario@example.it");
    }
}
