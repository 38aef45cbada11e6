//! The canonical layout of a program file.
//!
//! One statement per line, clauses after `, `, two spaces of indentation
//! in blocks, `# comment` kept where it was, at most one blank line in a
//! row, amounts written one way (`$0.50`, `10,000 points`, `2%`, `3x`).
//! Before returning, the formatter parses its own output and compares the
//! AST with the input's: a difference is a bug in the formatter and is
//! reported as such, never written over the designer's file.

use std::fmt::Write;

use crate::decimal::Decimal;
use crate::span::Node;
use crate::syntax::SyntaxError;
use crate::syntax::ast::*;

const INDENT: &str = "  ";

#[derive(Debug)]
pub enum FormatError {
    /// The input does not parse; nothing can be formatted.
    Syntax(Vec<SyntaxError>),
    /// The formatter's output does not mean what the input meant.
    RoundTrip { formatted: String },
}

/// Formats a source file, proving the result means the same.
pub fn format_source(source: &str) -> Result<String, FormatError> {
    let (program, errors) = crate::syntax::parse(source);
    if !errors.is_empty() {
        return Err(FormatError::Syntax(errors));
    }
    let formatted = format(&program);
    let (reparsed, errors) = crate::syntax::parse(&formatted);
    if !errors.is_empty() || reparsed != program {
        return Err(FormatError::RoundTrip { formatted });
    }
    Ok(formatted)
}

/// Prints a program in the canonical layout.
pub fn format(program: &Program) -> String {
    let mut out = String::new();
    items(&mut out, &program.items, 0);
    out
}

fn items(out: &mut String, items: &[Item], depth: usize) {
    for item in items {
        match item {
            Item::Blank => out.push('\n'),
            Item::Comment(text) => {
                indent(out, depth);
                comment(out, text);
                out.push('\n');
            }
            Item::Statement(statement) => {
                indent(out, depth);
                out.push_str(&statement_line(statement));
                if statement.block.is_some() {
                    out.push_str(" {");
                }
                if let Some(text) = &statement.comment {
                    out.push_str("  ");
                    comment(out, text);
                }
                out.push('\n');
                if let Some(block) = &statement.block {
                    self::items(out, block, depth + 1);
                    indent(out, depth);
                    out.push_str("}\n");
                }
            }
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str(INDENT);
    }
}

fn comment(out: &mut String, text: &str) {
    out.push('#');
    if !text.is_empty() {
        out.push(' ');
        out.push_str(text);
    }
}

/// A statement's head and clauses on one line, without block or comment.
pub fn statement_line(statement: &Statement) -> String {
    let mut line = head(&statement.head);
    for clause in &statement.clauses {
        line.push_str(", ");
        line.push_str(&self::clause(clause));
    }
    line
}

/// ` per month`, or nothing when no period is written.
fn per_period(per: &Option<PeriodOrLength>) -> String {
    per.as_ref().map_or(String::new(), |per| {
        format!(" per {}", period_or_length(per))
    })
}

fn period_or_length(period: &PeriodOrLength) -> String {
    match period {
        PeriodOrLength::Calendar(word) => word.node.clone(),
        PeriodOrLength::Last(length) => quantity(length),
    }
}

fn head(head: &Head) -> String {
    match head {
        Head::Program { name } => format!("program {}", quoted(name)),
        Head::Currency { code } => format!("currency {}", code.node),
        Head::TimeZone { name } => format!("time zone {}", quoted(name)),
        Head::Points { name } => format!("points are called {}", quoted(name)),
        Head::Declare { kind, names } => format!("{} {}", kind.keyword(), joined(names, ", ")),
        Head::Brand { name } => format!("brand {}", quoted(name)),
        Head::Partner { name } => format!("partner {}", quoted(name)),
        Head::Charity { name } => format!("charity {}", quoted(name)),
        Head::Earn { benefit, trigger } => match trigger {
            Some(trigger) => format!("earn {} {}", self::benefit(benefit), self::trigger(trigger)),
            None => format!("earn {}", self::benefit(benefit)),
        },
        Head::Bonus { amount } => format!("bonus {}", quantity(amount)),
        Head::Discount { amount } => format!("discount {}", quantity(amount)),
        Head::Perk { name } => format!("perk {}", quoted(name)),
        Head::Reward { name } => format!("reward {}", quoted(name)),
        Head::Convert { every, into } => {
            format!("every {} become {}", quantity(every), benefit(into))
        }
        Head::Donate {
            amount,
            charity,
            trigger,
        } => format!(
            "donate {} to {} {}",
            quantity(amount),
            quoted(charity),
            self::trigger(trigger)
        ),
        Head::Expire { what, expiry } => match expiry {
            Expiry::AfterLifecycle {
                duration,
                lifecycle,
            } => format!(
                "{} expire {} after they are {}",
                what.node,
                quantity(duration),
                match lifecycle {
                    Lifecycle::Earned => "earned",
                    Lifecycle::Issued => "issued",
                }
            ),
            Expiry::EachYearOn { day, month } => {
                format!(
                    "{} expire each year on {} {}",
                    what.node, day.node, month.node
                )
            }
            Expiry::AtPeriodEnd { period, duration } => format!(
                "{} expire at the end of the {} after {}",
                what.node,
                period.node,
                quantity(duration)
            ),
            Expiry::Inactivity { duration } => {
                format!(
                    "{} expire after {} without activity",
                    what.node,
                    quantity(duration)
                )
            }
        },
        Head::Pending { what, duration } => {
            format!("{} are pending for {}", what.node, quantity(duration))
        }
        Head::Tier { name } => format!("tier {}", quoted(name)),
        Head::Membership { name } => format!("membership {}", quoted(name)),
    }
}

fn benefit(benefit: &Benefit) -> String {
    match benefit {
        Benefit::Amount(q) => quantity(q),
        Benefit::RewardCredit(q) => format!("{} reward", quantity(q)),
        Benefit::Back(q) => format!("{} back", quantity(q)),
        Benefit::OffNextOrder(q) => format!("{} off the next order", quantity(q)),
        Benefit::Named(name) => format!("reward {}", quoted(name)),
    }
}

fn trigger(trigger: &Trigger) -> String {
    match trigger {
        Trigger::PerSpent(q) => format!("per {} spent", quantity(q)),
        Trigger::EveryNth { nth, action } => format!("for every {} {}", ordinal(*nth), action.node),
        Trigger::Spending { amount, period } => {
            format!("for spending {} in a {}", quantity(amount), period.node)
        }
        Trigger::ReachingTier => "for reaching the tier".into(),
        Trigger::Action(action) => format!("for {}", action.node),
        Trigger::Every(period) => format!("every {}", period_or_length(period)),
        Trigger::FirstDayOfEach(period) => format!("on the first day of each {}", period.node),
    }
}

fn clause(clause: &Clause) -> String {
    match clause {
        Clause::Worth {
            value,
            off_next_order,
            per,
        } => {
            let mut text = format!("worth {}", quantity(value));
            if *off_next_order {
                text.push_str(" off the next order");
            }
            if let Some(per) = per {
                let _ = write!(text, " per {}", quantity(per));
            }
            text
        }
        Clause::Costs { amount, per, once } => {
            let mut text = format!("costs {}", quantity(amount));
            if *once {
                text.push_str(" once");
            }
            if let Some(per) = per {
                let _ = write!(text, " per {}", per.node);
            }
            text
        }
        Clause::Funds(share) => format!("funds {}", quantity(share)),
        Clause::Margin(share) => format!("margin {} on redemptions", quantity(share)),
        Clause::FundsPer { amount, per } => {
            format!("funds {} per {}", quantity(amount), quantity(per))
        }
        Clause::Receives { amount, per } => {
            format!("receives {} per {}", quantity(amount), quantity(per))
        }
        Clause::InCategory(names) => format!("in category {}", joined(names, " or ")),
        Clause::InChannel(names) => format!("in channel {}", joined(names, " or ")),
        Clause::PaidOut(period) => format!("paid out every {}", period.node),
        Clause::PaidWith(names) => format!("paid with {}", joined(names, " or ")),
        Clause::AtBrand(names) => format!("at brand {}", quoted_list(names)),
        Clause::AtPartner(names) if names.is_empty() => "at any partner".into(),
        Clause::AtPartner(names) => format!("at partner {}", quoted_list(names)),
        Clause::ForTier(names) => format!("for tier {}", quoted_list(names)),
        Clause::ForProduct(skus) => format!("for product {}", quoted_list(skus)),
        Clause::ExcludingCategory(names) => {
            format!("excluding category {}", joined(names, " or "))
        }
        Clause::ExcludingProduct(skus) => format!("excluding product {}", quoted_list(skus)),
        Clause::MembersWith(attribute) => format!("for members with {}", attribute.node),
        Clause::Qualify {
            amount,
            measure,
            period,
        } => {
            let measure = match measure {
                Some(Measure::Spent) => " spent",
                Some(Measure::Earned) => " earned",
                None => "",
            };
            let period = match &period.node {
                QualifyPeriod::CalendarYear => "in a calendar year".to_string(),
                QualifyPeriod::Last(duration) => format!("in the last {}", quantity(duration)),
                QualifyPeriod::Total => "in total".to_string(),
            };
            format!("for {}{measure} {period}", quantity(amount))
        }
        Clause::Within { duration, anchor } => format!(
            "within {} of {}",
            quantity(duration),
            match anchor {
                Anchor::Joining => "joining",
                Anchor::ReachingTier => "reaching the tier",
            }
        ),
        Clause::MinOrder(amount) => format!("on orders of {} or more", quantity(amount)),
        Clause::ChosenDays { count, per } => {
            let days = if count.node == Decimal::ONE {
                "day"
            } else {
                "days"
            };
            format!("on {} chosen {days} per {}", count.node, per.node)
        }
        Clause::FirstDayOfEach(period) => format!("on the first day of each {}", period.node),
        Clause::Excluding(words) => format!("excluding {}", joined(words, " and ")),
        Clause::Cap { limit, per, total } => {
            let mut text = match limit {
                CapLimit::Amount(amount) => format!("up to {}", quantity(amount)),
                CapLimit::Times(count) if count.node == Decimal::ONE => "once".to_string(),
                CapLimit::Times(count) if count.node == Decimal::from_int(2) => "twice".to_string(),
                CapLimit::Times(count) => format!("{} times", count.node.display(0)),
            };
            text.push_str(&per_period(per));
            if *total {
                text.push_str(" in total");
            }
            text
        }
        Clause::Available { count, per } => {
            format!("{} available{}", count.node.display(0), per_period(per))
        }
        Clause::Exclusive => "exclusive".into(),
        Clause::Kept(Kept::For(duration)) => format!("kept for {}", quantity(duration)),
        Clause::Kept(Kept::UntilEndOfNext(period)) => {
            format!("kept until the end of the next {}", period.node)
        }
        Clause::FreeTrial(duration) => format!("with a free trial of {}", quantity(duration)),
        Clause::Replaces(names) => format!("replaces {}", quoted_list(names)),
        Clause::OnDays(days) => format!("on {}", joined(days, " or ")),
        Clause::Hours { from, until } => format!("between {} and {}", from.node, until.node),
        Clause::Between { from, until } => format!("between {} and {}", from.node, until.node),
    }
}

/// An amount written the one canonical way.
pub fn quantity(q: &Quantity) -> String {
    let mut text = match q.kind {
        QuantityKind::Money(sign) => {
            let minus = if q.value.is_negative() { "-" } else { "" };
            let abs = Decimal::from_raw(q.value.raw().abs());
            // Cents are written in full: `$0.50`, not `$0.5`.
            let decimals = if abs.is_integer() { 0 } else { 2 };
            format!("{minus}{sign}{}", abs.display(decimals))
        }
        QuantityKind::Percent => format!("{}%", q.value),
        QuantityKind::Multiplier => format!("{}x", q.value),
        QuantityKind::Count => q.value.to_string(),
    };
    if let Some(unit) = &q.unit {
        text.push(' ');
        text.push_str(&unit.node);
    }
    text
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn quoted(name: &Node<String>) -> String {
    format!("\"{}\"", name.node)
}

fn quoted_list(names: &[Node<String>]) -> String {
    names.iter().map(quoted).collect::<Vec<_>>().join(" or ")
}

fn joined(names: &[Node<String>], separator: &str) -> String {
    names
        .iter()
        .map(|n| n.node.as_str())
        .collect::<Vec<_>>()
        .join(separator)
}
