//! What the outbox workers (webhooks, email) share: the delay before a retry.

use std::time::Duration;

/// The delay before the attempt that follows `attempts` failed ones: `base_seconds` ×
/// 2^(attempts − 1), at most `cap_seconds`, then a point in its upper half chosen by `random`
/// ("equal jitter"): receivers recovering from an outage are not hit by every retry at once,
/// and a retry never comes sooner than half the nominal delay.
pub fn backoff(base_seconds: u64, cap_seconds: u64, attempts: i64, random: u64) -> Duration {
    let base = base_seconds.max(1);
    let cap = cap_seconds.max(base);
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 32)).unwrap_or(32);
    let nominal_ms = base
        .saturating_mul(1u64 << exponent)
        .min(cap)
        .saturating_mul(1000);
    let half = nominal_ms / 2;
    Duration::from_millis(half + random % (nominal_ms - half + 1))
}
