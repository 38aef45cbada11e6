//! Every number a program states means what it says. For each numeric
//! clause the checker accepts (rates, amounts, multipliers, limits,
//! shares, durations, prices and values), a program with a random value
//! of it runs through the engine, and the result is checked against the
//! value worked out by hand from what the clause says. Points are
//! rounded down once per rule, on the order's total.

use loyalty::engine::Engine;
use loyalty::runner::{Outputs, Runner};
use proptest::prelude::*;
use serde_json::Value;

const HEADER: &str = "program \"Numbers\"\ncurrency USD\n\
                      points are called \"points\", worth $1 per 100 points\n";

/// The effects of running `lines` on `rules` (after the header).
fn effects(rules: &str, lines: &[String]) -> Vec<Value> {
    let source = format!("{HEADER}{rules}");
    let program = loyalty::load(&source)
        .unwrap_or_else(|e| panic!("{source}\ndoes not load: {:?}", e.0.first()));
    let mut engine = Engine::new(&program);
    let mut out = Vec::new();
    {
        let outputs = Outputs {
            effects: Some(&mut out),
            ..Outputs::default()
        };
        let mut runner = Runner::new(&mut engine, None, outputs, "numbers");
        for (n, line) in lines.iter().enumerate() {
            runner.line(n + 1, line).unwrap();
        }
        runner.finish().unwrap();
    }
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `1,234.50` as 123450.
fn cents(text: &Value) -> i64 {
    let text: String = text
        .as_str()
        .unwrap()
        .chars()
        .filter(|c| *c != ',' && *c != '.')
        .collect();
    text.parse().unwrap()
}

/// The sum of `field` over the effects of `kind`.
fn total(effects: &[Value], kind: &str, field: &str) -> i64 {
    effects
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| match &e[field] {
            Value::Number(n) => n.as_i64().unwrap(),
            money => cents(money),
        })
        .sum()
}

fn enroll(member: &str, at: &str) -> String {
    format!(r#"{{"id":"e-{member}","at":"{at}","type":"enroll","member":"{member}"}}"#)
}

fn purchase(id: &str, at: &str, cents: i64, extra: &str) -> String {
    format!(
        r#"{{"id":"{id}","at":"{at}","type":"purchase","member":"a","amount":"{}.{:02}"{extra}}}"#,
        cents / 100,
        cents % 100
    )
}

fn action(id: &str, member: &str, at: &str, action: &str) -> String {
    format!(
        r#"{{"id":"{id}","at":"{at}","type":"action","member":"{member}","action":"{action}"}}"#
    )
}

/// A decimal written with `hundredths` of a unit: 125 is `1.25`.
fn hundredths(hundredths: i64) -> String {
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// `earn 1.25 points per $3 spent`: spend × rate, rounded down once.
    #[test]
    fn an_earn_rate(rate in 1i64..=1_000, per in 1i64..=20, spend in 1i64..=1_000_000) {
        let rules = format!("earn {} points per ${per} spent\n", hundredths(rate));
        let run = effects(&rules, &[
            enroll("a", "2026-01-01"),
            purchase("p", "2026-01-02T10:00:00Z", spend, ""),
        ]);
        // rate/100 points per per×100 cents.
        prop_assert_eq!(total(&run, "points_earned", "points"), spend * rate / (per * 10_000));
    }

    /// `earn 250 points for review`, and a limit of them per day.
    #[test]
    fn action_points_and_a_daily_limit(points in 1i64..=100_000, times in 1i64..=5, extra in 0i64..=300_000) {
        let limit = points + extra;
        let rules = format!(
            "earn {points} points for review, up to {limit} points per day\n"
        );
        let mut lines = vec![enroll("a", "2026-01-01")];
        for t in 0..times {
            lines.push(action(&format!("r{t}"), "a", &format!("2026-01-02T1{t}:00:00Z"), "review"));
        }
        let run = effects(&rules, &lines);
        prop_assert_eq!(total(&run, "points_earned", "points"), (points * times).min(limit));
    }

    /// `bonus 2.5x points` on 1 point per $1.
    #[test]
    fn a_multiplier(tenths in 11i64..=100, spend in 1i64..=1_000_000) {
        let rules = format!(
            "earn 1 point per $1 spent\nbonus {}.{}x points\n",
            tenths / 10,
            tenths % 10
        );
        let run = effects(&rules, &[
            enroll("a", "2026-01-01"),
            purchase("p", "2026-01-02T10:00:00Z", spend, ""),
        ]);
        prop_assert_eq!(total(&run, "points_earned", "points"), spend * tenths / 1_000);
    }

    /// `bonus 100 points, on orders of $50 or more`: all of it, from the
    /// minimum up.
    #[test]
    fn a_flat_bonus_over_a_minimum_order(points in 1i64..=10_000, minimum in 1i64..=500, spend in 1i64..=100_000) {
        let rules = format!("bonus {points} points, on orders of ${minimum} or more\n");
        let run = effects(&rules, &[
            enroll("a", "2026-01-01"),
            purchase("p", "2026-01-02T10:00:00Z", spend, ""),
        ]);
        let expected = if spend >= minimum * 100 { points } else { 0 };
        prop_assert_eq!(total(&run, "points_earned", "points"), expected);
    }

    /// `earn 2.5% back`: reward money, rounded down to a cent.
    #[test]
    fn a_share_back(tenths in 1i64..=500, spend in 1i64..=1_000_000) {
        let rules = format!("earn {}.{}% back\n", tenths / 10, tenths % 10);
        let run = effects(&rules, &[
            enroll("a", "2026-01-01"),
            purchase("p", "2026-01-02T10:00:00Z", spend, ""),
        ]);
        prop_assert_eq!(total(&run, "reward_money_issued", "reward_money"), spend * tenths / 1_000);
    }

    /// `discount 15%`: the discount off the order, and points on what is
    /// paid.
    #[test]
    fn a_discount(percent in 1i64..=100, spend in 1i64..=1_000_000) {
        let rules = format!("earn 1 point per $1 spent\ndiscount {percent}%\n");
        let run = effects(&rules, &[
            enroll("a", "2026-01-01"),
            purchase("p", "2026-01-02T10:00:00Z", spend, ""),
        ]);
        let discount = spend * percent / 100;
        prop_assert_eq!(total(&run, "discount_given", "value"), discount);
        prop_assert_eq!(total(&run, "points_earned", "points"), (spend - discount) / 100);
    }

    /// `points expire 30 days after they are earned`: at the end of the
    /// day that many days later (the README's lots): still there a second
    /// before, gone at that moment. (A line may come at most 366 days
    /// after the one before it.)
    #[test]
    fn an_expiry(days in 1i64..=360, points in 1i64..=10_000) {
        let rules = format!(
            "earn {points} points for review\npoints expire {days} days after they are earned\n"
        );
        let earned = loyalty::time::Time::parse("2026-01-02T10:00:00Z").unwrap();
        let due = earned.start_of_day().add_days(days + 1);
        let tick = |id: &str, at: loyalty::time::Time| {
            format!(r#"{{"id":"{id}","at":"{at}","type":"tick"}}"#)
        };
        let before = effects(&rules, &[
            enroll("a", "2026-01-01"),
            action("r", "a", "2026-01-02T10:00:00Z", "review"),
            tick("t", due.second_before()),
        ]);
        prop_assert_eq!(total(&before, "points_expired", "points"), 0);
        let after = effects(&rules, &[
            enroll("a", "2026-01-01"),
            action("r", "a", "2026-01-02T10:00:00Z", "review"),
            tick("t", due),
        ]);
        prop_assert_eq!(total(&after, "points_expired", "points"), -points);
    }

    /// `reward "Gift", costs 300 points, worth $5`: what redeeming takes
    /// and what it is worth.
    #[test]
    fn a_reward_price_and_value(price in 1i64..=100_000, value in 1i64..=100_000) {
        let rules = format!(
            "earn {price} points for review\nreward \"Gift\", costs {price} points, worth ${}\n",
            hundredths(value)
        );
        let run = effects(&rules, &[
            enroll("a", "2026-01-01"),
            action("r", "a", "2026-01-02T10:00:00Z", "review"),
            r#"{"id":"x","at":"2026-01-03T10:00:00Z","type":"redeem","member":"a","reward":"Gift"}"#.into(),
        ]);
        prop_assert_eq!(total(&run, "points_redeemed", "points"), -price);
        prop_assert_eq!(total(&run, "reward_used", "value"), value);
    }

    /// `within 30 days of joining`: up to the last second of that time.
    #[test]
    fn a_window_after_joining(days in 1i64..=365, points in 1i64..=10_000) {
        let rules = format!("earn {points} points for review, within {days} days of joining\n");
        let joined = loyalty::time::Time::parse("2026-01-01T00:00:00Z").unwrap();
        let end = joined.add_days(days);
        let run = effects(&rules, &[
            enroll("a", "2026-01-01"),
            enroll("b", "2026-01-01"),
            action("in", "a", &end.second_before().to_string(), "review"),
            action("out", "b", &end.to_string(), "review"),
        ]);
        let earned: Vec<&Value> = run.iter().filter(|e| e["kind"] == "points_earned").collect();
        prop_assert_eq!(earned.len(), 1);
        prop_assert_eq!(&earned[0]["member"], "a");
        prop_assert_eq!(earned[0]["points"].as_i64(), Some(points));
    }

    /// `partner "Air", funds 40%`: the share of what is earned there that
    /// the partner pays, at what points are worth.
    #[test]
    fn a_partner_share(percent in 1i64..=100, spend in 1i64..=1_000_000) {
        let rules = format!(
            "partner \"Air\", funds {percent}%\nearn 1 point per $1 spent, at partner \"Air\"\n"
        );
        let run = effects(&rules, &[
            enroll("a", "2026-01-01"),
            purchase("p", "2026-01-02T10:00:00Z", spend, r#","partner":"Air""#),
        ]);
        let points = spend / 100;
        // Points are worth $1 per 100: one cent each.
        prop_assert_eq!(total(&run, "points_earned", "points"), points);
        prop_assert_eq!(total(&run, "partner_funded", "value"), points * percent / 100);
    }

    /// `membership "Plus", costs $4.99 per month`: each month's fee.
    #[test]
    fn a_monthly_fee(fee in 1i64..=100_000, months in 1i64..=6) {
        let rules = format!("membership \"Plus\", costs ${} per month\n", hundredths(fee));
        let start = loyalty::time::Time::parse("2026-01-01T00:00:00Z").unwrap();
        let run = effects(&rules, &[
            enroll("a", "2026-01-01"),
            r#"{"id":"s","at":"2026-01-01T00:00:00Z","type":"subscribe","member":"a","plan":"Plus"}"#.into(),
            format!(r#"{{"id":"t","at":"{}","type":"tick"}}"#, start.add_months(months - 1)),
        ]);
        // Charged on subscribing and on each monthly renewal since.
        prop_assert_eq!(total(&run, "fee_charged", "value"), fee * months);
    }

    /// `points expire at the end of the quarter after 12 months`: at the
    /// start of the month, quarter or year after the one that time falls
    /// in (a month after 31 January is 28 February).
    #[test]
    fn an_expiry_at_a_period_end(day in 0i64..365, months in 1i64..=12, which in 0usize..4) {
        let period = ["month", "quarter", "half year", "year"][which];
        let rules = format!(
            "earn 100 points for review\npoints expire at the end of the {period} after {months} months\n"
        );
        let earned = loyalty::time::Time::parse("2026-01-01T12:00:00Z").unwrap().add_days(day);
        let (year, month, _) = earned.date();
        // The month that time falls in, counted from January of year 0.
        let falls = i64::from(year) * 12 + i64::from(month) - 1 + months;
        let next = match period {
            "month" => falls + 1,
            "quarter" => (falls / 3 + 1) * 3,
            "half year" => (falls / 6 + 1) * 6,
            _ => (falls / 12 + 1) * 12,
        };
        let due = loyalty::time::Time::from_date((next / 12) as i32, (next % 12 + 1) as u32, 1);
        let ticks = |last: loyalty::time::Time| {
            let mut lines = vec![
                enroll("a", "2026-01-01"),
                action("r", "a", &earned.to_string(), "review"),
            ];
            let mut at = earned.add_days(300);
            while at < last {
                lines.push(format!(r#"{{"id":"t{at}","at":"{at}","type":"tick"}}"#));
                at = at.add_days(300);
            }
            lines.push(format!(r#"{{"id":"last","at":"{last}","type":"tick"}}"#));
            lines
        };
        let before = effects(&rules, &ticks(due.second_before()));
        prop_assert_eq!(total(&before, "points_expired", "points"), 0);
        let after = effects(&rules, &ticks(due));
        prop_assert_eq!(total(&after, "points_expired", "points"), -100);
    }
}
