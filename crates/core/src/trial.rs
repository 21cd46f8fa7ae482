//! The 30-day trial, computed from a team's trial end and "now" (passed in, never read
//! from the system clock here, so expiry is testable).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const TRIAL_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialStatus {
    pub ends_at: DateTime<Utc>,
    /// Whole days left, rounded up (a trial ending in 3 hours has 1 day left).
    pub days_left: i64,
    pub expired: bool,
}

impl TrialStatus {
    pub fn at(ends_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        let left = ends_at - now;
        let secs = left.num_seconds();
        let expired = secs <= 0;
        let days_left = if expired { 0 } else { (secs + 86_399) / 86_400 };
        Self {
            ends_at,
            days_left,
            expired,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn days_left_rounds_up_and_expires_at_the_end() {
        let start = Utc
            .with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
            .single()
            .unwrap_or_default();
        let ends = start + Duration::days(TRIAL_DAYS);
        assert_eq!(TrialStatus::at(ends, start).days_left, 30);
        assert_eq!(
            TrialStatus::at(ends, ends - Duration::hours(3)).days_left,
            1
        );
        assert!(!TrialStatus::at(ends, ends - Duration::seconds(1)).expired);
        assert!(TrialStatus::at(ends, ends).expired);
        assert_eq!(TrialStatus::at(ends, ends + Duration::days(2)).days_left, 0);
    }
}
