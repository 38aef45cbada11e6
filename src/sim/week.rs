//! When in the week orders come (`[week]` in the scenario): a weekly
//! profile of the purchase rate, by day of the week and hour of the day.
//!
//! The purchase clock (BG/NBD) runs on its own time, which here passes
//! faster in busy hours and not at all in hours given no weight: a
//! customer's waits are the same draws, and an order falls in each hour
//! of the week as often as its weight says, while the rate over a whole
//! week is unchanged. Every day the simulator handles (the clock's, month
//! starts, arrivals, returns) is on that time, and turned into a moment
//! only for the engine, so everything keeps its order.

use crate::sim::scenario::WeekProfile;
use crate::time::{DAY, Time};

pub(super) struct Week {
    /// The clock's time (in days) at the start of each hour of the week,
    /// from Monday 00:00: 169 values, from 0 to 7.
    at_hour: [f64; 169],
    /// Days from a Monday 00:00 to the simulation's start, and the
    /// clock's time then.
    start: f64,
    start_clock: f64,
}

impl Week {
    /// The profile's clock, for a simulation starting at `start` whose
    /// program keeps time `offset` seconds ahead of UTC; none when every
    /// hour weighs the same, as the clock is then the calendar.
    pub(super) fn new(profile: &WeekProfile, start: Time, offset: i64) -> Option<Week> {
        let weight = |h: usize| profile.days.0[h / 24] * profile.hours.0[h % 24];
        let total: f64 = (0..168).map(weight).sum();
        if (0..168).all(|h| weight(h) == weight(0)) || total <= 0.0 {
            return None;
        }
        let mut at_hour = [0.0; 169];
        for h in 0..168 {
            at_hour[h + 1] = at_hour[h] + 7.0 * weight(h) / total;
        }
        at_hour[168] = 7.0;
        // 1970-01-01 was a Thursday: the Monday before is 3 days earlier.
        let local_days = (start.0 + offset) as f64 / DAY as f64;
        let mut week = Week {
            at_hour,
            start: (local_days + 3.0).rem_euclid(7.0),
            start_clock: 0.0,
        };
        week.start_clock = week.clock_since_monday(week.start);
        Some(week)
    }

    /// The clock's time at `days` after the start.
    pub(super) fn clock(&self, days: f64) -> f64 {
        self.clock_since_monday(self.start + days) - self.start_clock
    }

    /// The days after the start at which the clock shows `clock`: in an
    /// hour with no weight, never; the start of the next one instead.
    pub(super) fn days(&self, clock: f64) -> f64 {
        let since_monday = clock + self.start_clock;
        let weeks = (since_monday / 7.0).floor();
        let into = since_monday - 7.0 * weeks;
        let h = (self.at_hour.partition_point(|&at| at <= into) - 1).min(167);
        let width = self.at_hour[h + 1] - self.at_hour[h];
        let within = if width > 0.0 {
            ((into - self.at_hour[h]) / width).clamp(0.0, 1.0)
        } else {
            0.0
        };
        7.0 * weeks + (h as f64 + within) / 24.0 - self.start
    }

    fn clock_since_monday(&self, days: f64) -> f64 {
        let weeks = (days / 7.0).floor();
        let hours = (days - 7.0 * weeks) * 24.0;
        let h = (hours.floor() as usize).min(167);
        let width = self.at_hour[h + 1] - self.at_hour[h];
        7.0 * weeks + self.at_hour[h] + width * (hours - h as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::Weights;

    fn profile(days: [f64; 7], hours: [f64; 24]) -> WeekProfile {
        WeekProfile {
            days: Weights(days),
            hours: Weights(hours),
        }
    }

    #[test]
    fn the_same_weight_everywhere_is_the_calendar() {
        let flat = profile([2.0; 7], [3.0; 24]);
        assert!(Week::new(&flat, Time::from_date(2027, 1, 1), 0).is_none());
    }

    /// Saturdays weigh twice the other days, and only 09:00 to 21:00
    /// has any weight: the clock and the calendar agree at each week's
    /// start, a day goes one way and back, and the clock stands still at
    /// night.
    #[test]
    fn the_clock_runs_with_the_weights_and_back() {
        let mut hours = [0.0; 24];
        hours[9..21].fill(1.0);
        let mut days = [1.0; 7];
        days[5] = 2.0;
        // 2027-01-04 is a Monday.
        let week = Week::new(&profile(days, hours), Time::from_date(2027, 1, 4), 0).unwrap();
        assert!((week.clock(7.0) - 7.0).abs() < 1e-12);
        assert!((week.clock(14.0) - 14.0).abs() < 1e-12);
        // A Saturday is 2/8 of the week's clock.
        assert!((week.clock(6.0) - week.clock(5.0) - 7.0 * 2.0 / 8.0).abs() < 1e-12);
        // Nights: from 21:00 to 09:00 the clock stands still.
        assert!((week.clock(1.0 + 9.0 / 24.0) - week.clock(21.0 / 24.0)).abs() < 1e-12);
        for day in [0.4, 1.5, 5.3, 6.8, 13.7, 100.45] {
            let hour = (day * 24.0) % 24.0;
            if (9.0..21.0).contains(&hour) {
                assert!((week.days(week.clock(day)) - day).abs() < 1e-9, "{day}");
            }
        }
        // A time at night shows on the calendar at the next 09:00.
        assert!((week.days(week.clock(0.95)) - (1.0 + 9.0 / 24.0)).abs() < 1e-9);
    }
}
