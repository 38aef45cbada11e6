//! Is this amount the right kind of amount? Money where money is meant,
//! points in the program's own unit, durations in days to years.

use super::Checker;
use super::problem::ProblemKind;
use crate::decimal::Decimal;
use crate::diagnostic::did_you_mean;
use crate::program::{Cents, Points};
use crate::span::Node;
use crate::syntax::ast::{Quantity, QuantityKind};
use crate::time::{DurationUnit, Period};

/// A checked amount of money in cents.
pub fn cents(value: Decimal) -> Cents {
    value.raw() / (Decimal::SCALE / 100)
}

/// A rate of points per cents in whole points: `1.5` points per `100`
/// cents is 3 per 200. `None` when the spend it takes overflows.
pub fn whole_points_per(points: Decimal, per: Cents) -> Option<(Points, Cents)> {
    let (mut a, mut b) = (points.raw().unsigned_abs(), Decimal::SCALE.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    let common = i64::try_from(a).ok().filter(|&g| g > 0)?;
    Some((
        points.raw() / common,
        per.checked_mul(Decimal::SCALE / common)?,
    ))
}

/// A checked whole number of points.
pub fn whole(value: Decimal) -> Points {
    value.trunc()
}

/// A length of time as written: `30 days`, `12 months`, `1 year`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duration {
    pub value: Decimal,
    pub unit: DurationUnit,
}

impl Duration {
    /// The duration an amount states, if it states one; reports nothing.
    pub fn of(quantity: &Quantity) -> Option<Self> {
        let unit = DurationUnit::from_word(quantity.unit.as_ref()?)?;
        (quantity.kind == QuantityKind::Count && quantity.value > Decimal::ZERO).then_some(
            Duration {
                value: quantity.value,
                unit,
            },
        )
    }

    /// Whole days at the shortest (months of 28 days, years of 365), for
    /// "is this expiry shorter than that cycle" comparisons.
    pub fn min_days(self) -> i64 {
        let per = match self.unit {
            DurationUnit::Hours => return self.value.raw() / Decimal::SCALE / 24,
            DurationUnit::Days => 1,
            DurationUnit::Weeks => 7,
            DurationUnit::Months => 28,
            DurationUnit::Years => 365,
        };
        (self.value.raw() * per) / Decimal::SCALE
    }
}

const DURATION_UNITS: &[&str] = &[
    "hour", "hours", "day", "days", "week", "weeks", "month", "months", "year", "years",
];
const VISIT_UNITS: &[&str] = &["visit", "visits"];
const NIGHT_UNITS: &[&str] = &["night", "nights"];

impl Checker<'_> {
    fn text_of(&self, quantity: &Node<Quantity>) -> &str {
        &self.source[quantity.span.start..quantity.span.end]
    }

    /// What was written, for "expected X, found Y".
    fn describe(&self, quantity: &Node<Quantity>) -> String {
        let text = self.text_of(quantity);
        let what = match (quantity.kind, &quantity.unit) {
            (QuantityKind::Money(_), _) => "money",
            (QuantityKind::Percent, _) => "a percentage",
            (QuantityKind::Multiplier, _) => "a multiplier",
            (QuantityKind::Count, None) => "a plain number",
            (QuantityKind::Count, Some(unit)) if DurationUnit::from_word(unit).is_some() => {
                "a duration"
            }
            (QuantityKind::Count, Some(unit)) if self.is_points_unit(unit) => "points",
            (QuantityKind::Count, Some(_)) => "a count",
        };
        format!("{what} `{text}`")
    }

    pub(super) fn wrong(&mut self, quantity: &Node<Quantity>, expected: &str) {
        let found = self.describe(quantity);
        self.report(
            ProblemKind::WrongUnit {
                expected: expected.to_string(),
                found,
            },
            quantity.span,
        );
    }

    /// False (and reported) when the amount is negative.
    fn sign_ok(&mut self, quantity: &Node<Quantity>) -> bool {
        if quantity.value.is_negative() {
            self.report(ProblemKind::NegativeAmount, quantity.span);
            return false;
        }
        true
    }

    /// Money in the program's currency.
    pub fn money(&mut self, quantity: &Node<Quantity>) -> Option<Decimal> {
        if !self.sign_ok(quantity) {
            return None;
        }
        match quantity.kind {
            QuantityKind::Money(sign) => {
                self.first_money.get_or_insert(quantity.span);
                if let Some((code, expected)) = &self.currency
                    && sign != *expected
                {
                    let (currency, expected) = (code.clone(), *expected);
                    self.report(
                        ProblemKind::CurrencySignMismatch {
                            sign,
                            currency,
                            expected,
                        },
                        quantity.span,
                    );
                    return None;
                }
                if quantity.value.decimals() > 2 {
                    self.wrong(quantity, "money in whole cents, such as `$0.05`");
                    return None;
                }
                if let Some(unit) = &quantity.unit {
                    self.report(
                        ProblemKind::WrongUnit {
                            expected: "money such as `$10`".into(),
                            found: format!("`{}` after the amount", unit.node),
                        },
                        unit.span,
                    );
                    return None;
                }
                Some(quantity.value)
            }
            QuantityKind::Count if quantity.unit.is_none() => {
                let sign = self.currency.as_ref().map_or('$', |(_, sign)| *sign);
                self.report(
                    ProblemKind::MissingCurrencySign {
                        example: format!("{sign}{}", quantity.value),
                    },
                    quantity.span,
                );
                None
            }
            _ => {
                self.wrong(quantity, "money such as `$10`");
                None
            }
        }
    }

    /// Points in the program's unit (`300 points`, `2 stars`).
    pub fn points(&mut self, quantity: &Node<Quantity>) -> Option<Decimal> {
        if !self.sign_ok(quantity) {
            return None;
        }
        let example_unit = self.points_plural();
        match (&quantity.kind, &quantity.unit) {
            (QuantityKind::Count, None) => {
                self.report(
                    ProblemKind::MissingUnit {
                        expected: example_unit.clone(),
                        example: format!("{} {}", quantity.value, self.points_word(quantity.value)),
                    },
                    quantity.span,
                );
                None
            }
            (QuantityKind::Count, Some(unit)) => {
                if self.points_name.is_none() {
                    self.report_missing_points(quantity.span);
                    return None;
                }
                if self.is_points_unit(unit) {
                    return Some(quantity.value);
                }
                if DurationUnit::from_word(unit).is_some()
                    || VISIT_UNITS.contains(&unit.as_str())
                    || NIGHT_UNITS.contains(&unit.as_str())
                {
                    self.wrong(quantity, &example_unit);
                    return None;
                }
                let suggestion =
                    did_you_mean(&unit.node, self.points_units().iter().map(String::as_str))
                        .map(str::to_string);
                self.report(
                    ProblemKind::UnknownUnit {
                        unit: unit.node.clone(),
                        expected: format!("the program's unit, `{example_unit}`"),
                        suggestion,
                    },
                    unit.span,
                );
                None
            }
            _ => {
                self.wrong(quantity, &example_unit);
                None
            }
        }
    }

    /// Whole points: balances, costs, thresholds.
    pub fn whole_points(&mut self, quantity: &Node<Quantity>) -> Option<Decimal> {
        let value = self.points(quantity)?;
        if !value.is_integer() {
            self.report(ProblemKind::FractionalPoints, quantity.span);
            return None;
        }
        Some(value)
    }

    /// A share from 0% to 100%.
    pub fn percent(&mut self, quantity: &Node<Quantity>) -> Option<Decimal> {
        if !self.sign_ok(quantity) {
            return None;
        }
        if quantity.kind != QuantityKind::Percent {
            self.wrong(quantity, "a percentage such as `10%`");
            return None;
        }
        if quantity.value > Decimal::HUNDRED {
            self.report(ProblemKind::PercentOver100, quantity.span);
            return None;
        }
        Some(quantity.value)
    }

    /// `30 days`, `12 months`, `1 year`.
    pub fn duration(&mut self, quantity: &Node<Quantity>) -> Option<Duration> {
        if !self.sign_ok(quantity) {
            return None;
        }
        let unit = match (&quantity.kind, &quantity.unit) {
            (QuantityKind::Count, Some(unit)) => unit,
            (QuantityKind::Count, None) => {
                self.report(
                    ProblemKind::MissingUnit {
                        expected: "days, weeks, months or years".into(),
                        example: format!("{} months", quantity.value),
                    },
                    quantity.span,
                );
                return None;
            }
            _ => {
                self.wrong(quantity, "a duration such as `30 days`");
                return None;
            }
        };
        let unit_kind = match DurationUnit::from_word(unit) {
            Some(unit_kind) => unit_kind,
            None => {
                let other = unit.as_str();
                if self.is_points_unit(&unit.node) {
                    self.wrong(quantity, "a duration such as `30 days`");
                } else {
                    // `30 dayz` is `30 days`, `1 dai` is `1 day`.
                    let plural = quantity.value != Decimal::ONE;
                    let units = DURATION_UNITS.iter().copied();
                    let suggestion =
                        did_you_mean(other, units.filter(|u| u.ends_with('s') == plural))
                            .map(str::to_string);
                    self.report(
                        ProblemKind::UnknownUnit {
                            unit: other.to_string(),
                            expected: "a unit of time (hours, days, weeks, months, years)".into(),
                            suggestion,
                        },
                        unit.span,
                    );
                }
                return None;
            }
        };
        if quantity.value.is_zero() {
            self.report(
                ProblemKind::ZeroAmount { what: "a duration" },
                quantity.span,
            );
            return None;
        }
        Some(Duration {
            value: quantity.value,
            unit: unit_kind,
        })
    }

    /// A duration in whole units, as the calendar counts them: `30 days`,
    /// `12 months`.
    pub fn period(&mut self, quantity: &Node<Quantity>) -> Option<Period> {
        let duration = self.duration(quantity)?;
        if !duration.value.is_integer() {
            self.wrong(quantity, "a whole number of days, weeks, months or years");
            return None;
        }
        Some(Period {
            count: duration.value.trunc(),
            unit: duration.unit,
        })
    }

    /// A count of visits: `10 visits`.
    /// `10 visits` or `50 nights`: what a tier counts besides money and
    /// points.
    pub fn visits_or_nights(
        &mut self,
        quantity: &Node<Quantity>,
    ) -> Option<(crate::program::Measure, Decimal)> {
        if !self.sign_ok(quantity) {
            return None;
        }
        let unit = quantity.unit.as_ref().map(|u| u.as_str());
        match unit {
            _ if quantity.kind != QuantityKind::Count => None,
            Some(unit) if VISIT_UNITS.contains(&unit) => {
                Some((crate::program::Measure::Visits, quantity.value))
            }
            Some(unit) if NIGHT_UNITS.contains(&unit) => {
                Some((crate::program::Measure::Nights, quantity.value))
            }
            _ => None,
        }
        .or_else(|| {
            let units = VISIT_UNITS.iter().chain(NIGHT_UNITS).copied();
            match quantity
                .unit
                .as_ref()
                .filter(|_| quantity.kind == QuantityKind::Count)
            {
                Some(unit) if did_you_mean(&unit.node, units.clone()).is_some() => {
                    let suggestion = did_you_mean(&unit.node, units).map(str::to_string);
                    self.report(
                        ProblemKind::UnknownUnit {
                            unit: unit.node.clone(),
                            expected: "`visits` or `nights`".into(),
                            suggestion,
                        },
                        unit.span,
                    );
                }
                _ => self.wrong(
                    quantity,
                    "a number of visits or nights such as `10 visits` or `50 nights`",
                ),
            }
            None
        })
    }

    /// A whole number of times, at least one.
    pub fn count(&mut self, count: &Node<Decimal>, what: &'static str) -> Option<i64> {
        if count.is_negative() {
            self.report(ProblemKind::NegativeAmount, count.span);
            return None;
        }
        if count.is_zero() {
            self.report(ProblemKind::ZeroAmount { what }, count.span);
            return None;
        }
        if !count.is_integer() {
            self.report(
                ProblemKind::WrongUnit {
                    expected: "a whole number".into(),
                    found: format!("`{}`", count.node),
                },
                count.span,
            );
            return None;
        }
        Some(count.trunc())
    }

    pub fn nonzero(
        &mut self,
        value: Option<Decimal>,
        span: crate::span::Span,
        what: &'static str,
    ) -> Option<Decimal> {
        match value {
            Some(v) if v.is_zero() => {
                self.report(ProblemKind::ZeroAmount { what }, span);
                None
            }
            other => other,
        }
    }

    // ------------------------------------------------------------------

    pub fn is_points_unit(&self, unit: &str) -> bool {
        self.points_units()
            .iter()
            .any(|u| u.eq_ignore_ascii_case(unit))
    }

    /// The words that name the program's points: `points` and `point`.
    pub fn points_units(&self) -> Vec<String> {
        let Some(name) = &self.points_name else {
            return Vec::new();
        };
        let word = name
            .split_whitespace()
            .last()
            .unwrap_or(name)
            .to_lowercase();
        let singular = word.strip_suffix('s').unwrap_or(&word).to_string();
        if singular == word {
            vec![word]
        } else {
            vec![word, singular]
        }
    }

    /// `point` for one, `points` otherwise.
    fn points_word(&self, value: Decimal) -> String {
        let units = self.points_units();
        match (value == Decimal::ONE, units.as_slice()) {
            (true, [_, singular]) => singular.clone(),
            (_, [plural, ..]) => plural.clone(),
            _ => "points".into(),
        }
    }

    pub(super) fn points_plural(&self) -> String {
        self.points_units()
            .into_iter()
            .next()
            .unwrap_or_else(|| "points".into())
    }

    fn report_missing_points(&mut self, span: crate::span::Span) {
        if !self.reported_missing_points {
            self.reported_missing_points = true;
            self.report(ProblemKind::MissingPointsName, span);
        }
    }
}
