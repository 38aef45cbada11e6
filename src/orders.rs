//! An orders history: the CSV file a brand exports from its shop or
//! till, one row per order. `run --orders` replays it through a program
//! and `calibrate` fits a scenario to it; both read it here.
//!
//! Exports differ, so the reader is forgiving where the meaning is
//! clear and says so where it is not:
//! - columns are found by their usual names unless named on the command
//!   line;
//! - dates may be ISO (`2026-01-15`, with or without a time), compact
//!   (`20260115`), with slashes (`2026/01/15`, `15/01/2026`,
//!   `01/15/2026`) or dots (`15.01.2026`). Whether `03/04/2026` is
//!   day-first or month-first is decided for the whole file by the
//!   dates that can only be read one way;
//! - amounts may carry a currency sign or code (`$12.50`, `12,50 kr`,
//!   `EUR 1.234,00`) and thousands separators.
//!
//! A row that cannot be an order is skipped and reported with its line
//! and column; the file as a whole fails only when it cannot be read at
//! all (no such column, no rows).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

use thiserror::Error;

use crate::decimal::Decimal;
use crate::time::{Time, days_in_month};

/// Why an orders file cannot be read at all.
#[derive(Debug, Error)]
pub enum OrdersError {
    #[error("orders file: {0}")]
    Csv(#[from] csv::Error),
    #[error(
        "orders file has no {what} column `{wanted}`; its columns are: {columns} (choose one with `--{flag} COLUMN`)"
    )]
    MissingColumn {
        what: &'static str,
        wanted: String,
        flag: &'static str,
        columns: String,
    },
    #[error("orders file is empty: it needs a header line and one line per order")]
    Empty,
}

/// Which columns hold what; `None` looks for the usual names.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    pub customer: Option<String>,
    pub date: Option<String>,
    pub amount: Option<String>,
}

const CUSTOMER_NAMES: &[&str] = &[
    "customer",
    "customer_id",
    "member",
    "member_id",
    "client_id",
    "user_id",
];
const DATE_NAMES: &[&str] = &[
    "date",
    "order_date",
    "created_at",
    "ordered_at",
    "at",
    "timestamp",
];
const AMOUNT_NAMES: &[&str] = &[
    "amount",
    "total",
    "order_total",
    "revenue",
    "value",
    "price",
];
const ORDER_NAMES: &[&str] = &["order", "order_id", "id"];

/// One order of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// The line of the file it starts on (the header is line 1).
    pub line: u64,
    pub customer: String,
    pub at: Time,
    pub amount: Decimal,
    pub order_id: Option<String>,
}

/// A row that is not an order, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    /// The column (1-based) and its header, when one field is at fault.
    pub column: Option<(usize, String)>,
    pub problem: Problem,
}

/// What is wrong with a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    Unreadable(String),
    NoCustomer,
    NoDate,
    NoAmount,
    NotADate(String),
    NotAnAmount(String),
    /// A refund or a correction, which is not an order.
    NegativeAmount(String),
    /// Dated after today: a slip of the year (`9999`, `2062`) that
    /// would stretch every customer's history to it.
    InTheFuture(String),
}

impl Problem {
    /// Rows skipped for the same kind of reason are counted together.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::Unreadable(_) => "unreadable rows",
            Problem::NoCustomer => "rows without a customer",
            Problem::NoDate => "rows without a date",
            Problem::NoAmount => "rows without an amount",
            Problem::NotADate(_) => "dates that are not dates",
            Problem::NotAnAmount(_) => "amounts that are not amounts of money",
            Problem::NegativeAmount(_) => "negative amounts (refunds are not orders)",
            Problem::InTheFuture(_) => "dates in the future",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unreadable(why) => write!(f, "{why}"),
            Problem::NoCustomer => write!(f, "the customer is empty"),
            Problem::NoDate => write!(f, "the date is empty"),
            Problem::NoAmount => write!(f, "the amount is empty"),
            Problem::NotADate(text) => write!(
                f,
                "`{text}` is not a date (write dates like 2026-01-15, 20260115 or 15/01/2026)"
            ),
            Problem::NotAnAmount(text) => write!(
                f,
                "`{text}` is not an amount of money with at most 2 decimals (like 12.50 or $12.50)"
            ),
            Problem::NegativeAmount(text) => {
                write!(f, "`{text}` is negative: a refund is not an order")
            }
            Problem::InTheFuture(text) => {
                write!(f, "`{text}` is after today: is the year a slip?")
            }
        }
    }
}

impl BadRow {
    /// What is wrong, and in which column, without the line.
    pub fn reason(&self) -> String {
        match &self.column {
            Some((column, name)) => format!("column {column} ({name}): {}", self.problem),
            None => self.problem.to_string(),
        }
    }
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, {}", self.line, self.reason())
    }
}

/// An orders file as read: the orders in file order, the rows skipped,
/// and how ambiguous dates were read.
#[derive(Debug, Default)]
pub struct Orders {
    pub orders: Vec<Order>,
    pub bad_rows: Vec<BadRow>,
    /// Data rows in the file, good and bad.
    pub rows: usize,
    /// Set when the file has dates like `03/04/2026`: how they were read.
    pub slashed_dates: Option<DateOrder>,
}

/// The order of day and month in dates like `03/04/2026`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateOrder {
    /// Decided by dates such as `25/04/2026` in the file.
    DayFirst,
    /// Decided by dates such as `04/25/2026` in the file.
    MonthFirst,
    /// Nothing in the file decides; read as month first (US).
    MonthFirstAssumed,
}

impl Orders {
    /// The skipped rows counted by kind, with the first few places of
    /// each, for a warning.
    pub fn skipped_summary(&self, shown: usize) -> Vec<String> {
        let mut kinds: BTreeMap<&str, Vec<&BadRow>> = BTreeMap::new();
        for bad in &self.bad_rows {
            kinds.entry(bad.problem.kind()).or_default().push(bad);
        }
        let mut lines = Vec::new();
        for (kind, rows) in kinds {
            lines.push(format!("{} {kind}:", rows.len()));
            for bad in rows.iter().take(shown) {
                lines.push(format!("  {bad}"));
            }
            if rows.len() > shown {
                lines.push(format!("  ... and {} more", rows.len() - shown));
            }
        }
        lines
    }
}

fn find(
    headers: &csv::StringRecord,
    wanted: &Option<String>,
    names: &[&str],
    what: &'static str,
    flag: &'static str,
) -> Result<usize, OrdersError> {
    let position = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let found = match wanted {
        Some(name) => position(name),
        None => names.iter().find_map(|name| position(name)),
    };
    found.ok_or_else(|| OrdersError::MissingColumn {
        what,
        wanted: wanted.clone().unwrap_or_else(|| names.join("` or `")),
        flag,
        columns: headers.iter().collect::<Vec<_>>().join(", "),
    })
}

/// A date as written: exact, or two small numbers whose order the rest
/// of the file decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WrittenDate {
    Exact(Time),
    Slashed { first: u32, second: u32, year: i32 },
}

fn date(year: i32, month: u32, day: u32) -> Option<Time> {
    ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month))
        .then(|| Time::from_date(year, month, day))
}

fn number(text: &str) -> Option<u32> {
    (!text.is_empty() && text.len() <= 4 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn parse_date(text: &str) -> Option<WrittenDate> {
    let text = text.trim();
    if let Some(at) = Time::parse(text) {
        return Some(WrittenDate::Exact(at));
    }
    // A date followed by a time we do not need to the second.
    let day_part = text.split([' ', 'T']).next()?;
    if let Some(at) = Time::parse(day_part) {
        return Some(WrittenDate::Exact(at));
    }
    if day_part.len() == 8 && day_part.bytes().all(|b| b.is_ascii_digit()) {
        let (y, m, d) = (&day_part[..4], &day_part[4..6], &day_part[6..]);
        return date(number(y)? as i32, number(m)?, number(d)?).map(WrittenDate::Exact);
    }
    let separator = day_part.chars().find(|c| matches!(c, '/' | '.' | '-'))?;
    let parts: Vec<&str> = day_part.split(separator).collect();
    let [a, b, c] = parts[..] else {
        return None;
    };
    let (a, b, c) = (number(a)?, number(b)?, number(c)?);
    if parts[0].len() == 4 {
        return date(a as i32, b, c).map(WrittenDate::Exact);
    }
    if parts[2].len() != 4 {
        return None;
    }
    if separator == '.' {
        // 15.01.2026 is day-first wherever dots are written.
        return date(c as i32, b, a).map(WrittenDate::Exact);
    }
    Some(WrittenDate::Slashed {
        first: a,
        second: b,
        year: c as i32,
    })
}

/// An amount as written, or why it is not one.
fn parse_amount(text: &str) -> Result<Decimal, Problem> {
    let written = text.trim();
    let not_an_amount = || Problem::NotAnAmount(written.to_string());
    // Currency signs and codes on either side: `$`, `kr`, `EUR`, `12 €`.
    let is_part = |c: char| c.is_ascii_digit() || matches!(c, '-' | '(' | ')' | '.' | ',');
    let core = written.trim_matches(|c: char| !is_part(c));
    let (negative, core) =
        if let Some(inner) = core.strip_prefix('(').and_then(|c| c.strip_suffix(')')) {
            (true, inner)
        } else if let Some(rest) = core.strip_prefix('-') {
            (true, rest)
        } else if let Some(rest) = core.strip_suffix('-') {
            (true, rest)
        } else {
            (false, core)
        };
    let core = core.trim_matches(|c: char| !is_part(c));
    // Thousands separators written as spaces or apostrophes.
    let digits: String = core
        .chars()
        .filter(|c| !matches!(c, ' ' | '\'' | '\u{a0}' | '\u{202f}'))
        .collect();
    if digits.is_empty()
        || !digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return Err(not_an_amount());
    }
    let last_dot = digits.rfind('.');
    let last_comma = digits.rfind(',');
    let decimal_comma = match (last_dot, last_comma) {
        (Some(dot), Some(comma)) => comma > dot,
        // `12,50` and `1.234,5` use a decimal comma; `1,234` groups thousands.
        (None, Some(comma)) => digits.matches(',').count() == 1 && digits.len() - comma - 1 <= 2,
        _ => false,
    };
    // Grouping separators stand between groups of three digits; anything
    // else (`1,234,56`, `1,2345`) is a mistyped amount, not a larger one.
    let (point, grouping) = if decimal_comma {
        (',', '.')
    } else {
        ('.', ',')
    };
    let whole = digits
        .rsplit_once(point)
        .map_or(digits.as_str(), |(w, _)| w);
    if whole.contains(grouping) {
        let mut groups = whole.split(grouping);
        let first = groups.next().unwrap_or_default().len();
        if !(1..=3).contains(&first) || groups.any(|g| g.len() != 3) {
            return Err(not_an_amount());
        }
    }
    let normal: String = if decimal_comma {
        digits
            .chars()
            .filter(|c| *c != '.')
            .map(|c| if c == ',' { '.' } else { c })
            .collect()
    } else {
        digits.chars().filter(|c| *c != ',').collect()
    };
    if normal.matches('.').count() > 1 {
        // `1.234.567`: dots grouping thousands.
        return parse_amount(&normal.replace('.', ",")).map_err(|_| not_an_amount());
    }
    let value = Decimal::parse(&normal).map_err(|_| not_an_amount())?;
    if value.decimals() > 2 {
        return Err(not_an_amount());
    }
    if negative && !value.is_zero() {
        return Err(Problem::NegativeAmount(written.to_string()));
    }
    Ok(value)
}

/// Reads an orders file. Fails only when the file as a whole cannot be
/// read; rows that are not orders are in `bad_rows`.
pub fn read_orders(input: impl Read, columns: &Columns) -> Result<Orders, OrdersError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = reader.headers()?.clone();
    if headers.is_empty() || headers.iter().all(|h| h.trim().is_empty()) {
        return Err(OrdersError::Empty);
    }
    let customer = find(
        &headers,
        &columns.customer,
        CUSTOMER_NAMES,
        "customer",
        "customer",
    )?;
    let date_column = find(&headers, &columns.date, DATE_NAMES, "date", "date")?;
    let amount = find(&headers, &columns.amount, AMOUNT_NAMES, "amount", "amount")?;
    let order = ORDER_NAMES
        .iter()
        .find_map(|name| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
        })
        .filter(|&o| o != customer);
    let column = |i: usize| Some((i + 1, headers.get(i).unwrap_or("").trim().to_string()));

    let mut read = Orders::default();
    // Orders whose date waits for the file to decide day or month first.
    let mut slashed: Vec<(usize, u32, u32, i32, String)> = Vec::new();
    let (mut day_first, mut month_first) = (false, false);
    for record in reader.records() {
        read.rows += 1;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(read.rows as u64 + 1, |p| p.line());
                read.bad_rows.push(BadRow {
                    line,
                    column: None,
                    problem: Problem::Unreadable(e.to_string()),
                });
                continue;
            }
        };
        let line = record.position().map_or(read.rows as u64 + 1, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let bad = |i: usize, problem: Problem| BadRow {
            line,
            column: column(i),
            problem,
        };
        let who = field(customer);
        if who.is_empty() {
            read.bad_rows.push(bad(customer, Problem::NoCustomer));
            continue;
        }
        if field(date_column).is_empty() {
            read.bad_rows.push(bad(date_column, Problem::NoDate));
            continue;
        }
        if field(amount).is_empty() {
            read.bad_rows.push(bad(amount, Problem::NoAmount));
            continue;
        }
        let Some(written) = parse_date(field(date_column)) else {
            let text = field(date_column).to_string();
            read.bad_rows
                .push(bad(date_column, Problem::NotADate(text)));
            continue;
        };
        let value = match parse_amount(field(amount)) {
            Ok(value) => value,
            Err(problem) => {
                read.bad_rows.push(bad(amount, problem));
                continue;
            }
        };
        let at = match written {
            WrittenDate::Exact(at) => at,
            WrittenDate::Slashed {
                first,
                second,
                year,
            } => {
                day_first |= first > 12;
                month_first |= second > 12;
                slashed.push((
                    read.orders.len(),
                    first,
                    second,
                    year,
                    field(date_column).into(),
                ));
                Time::NEVER
            }
        };
        read.orders.push(Order {
            line,
            customer: who.to_string(),
            at,
            amount: value,
            order_id: order
                .map(|o| field(o).to_string())
                .filter(|o| !o.is_empty()),
        });
    }
    if read.rows == 0 {
        return Err(OrdersError::Empty);
    }
    if !slashed.is_empty() {
        let order = match (day_first, month_first) {
            (true, false) => DateOrder::DayFirst,
            (false, true) => DateOrder::MonthFirst,
            // Both kinds: the file is inconsistent; month first, and the
            // dates that cannot be read so are reported.
            _ => {
                if day_first {
                    DateOrder::MonthFirst
                } else {
                    DateOrder::MonthFirstAssumed
                }
            }
        };
        read.slashed_dates = Some(order);
        let mut unreadable = Vec::new();
        for (index, first, second, year, text) in slashed {
            let (day, month) = match order {
                DateOrder::DayFirst => (first, second),
                _ => (second, first),
            };
            match date(year, month, day) {
                Some(at) => read.orders[index].at = at,
                None => unreadable.push((index, text)),
            }
        }
        for (index, text) in &unreadable {
            read.bad_rows.push(BadRow {
                line: read.orders[*index].line,
                column: column(date_column),
                problem: Problem::NotADate(text.clone()),
            });
        }
        // `unreadable` is in file order, so a binary search finds them.
        let mut index = 0;
        read.orders.retain(|_| {
            let keep = unreadable
                .binary_search_by_key(&index, |(i, _)| *i)
                .is_err();
            index += 1;
            keep
        });
    }
    let today_ends = Time::now().start_of_day().add_days(1);
    let mut future = Vec::new();
    read.orders.retain(|order| {
        let in_the_future = order.at >= today_ends;
        if in_the_future {
            future.push(BadRow {
                line: order.line,
                column: column(date_column),
                problem: Problem::InTheFuture(order.at.to_string()[..10].to_string()),
            });
        }
        !in_the_future
    });
    read.bad_rows.extend(future);
    read.bad_rows.sort_by_key(|bad| bad.line);
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(text: &str) -> Result<String, Problem> {
        parse_amount(text).map(|d| d.display(2))
    }

    #[test]
    fn amounts_with_signs_codes_and_separators() {
        assert_eq!(amount("12.50"), Ok("12.50".into()));
        assert_eq!(amount("$12.50"), Ok("12.50".into()));
        assert_eq!(amount("12,50 kr"), Ok("12.50".into()));
        assert_eq!(amount("EUR 1.234,50"), Ok("1,234.50".into()));
        assert_eq!(amount("1,234.50"), Ok("1,234.50".into()));
        assert_eq!(amount("1,234"), Ok("1,234.00".into()));
        assert_eq!(amount("1 234,5"), Ok("1,234.50".into()));
        assert_eq!(amount("1.234.567"), Ok("1,234,567.00".into()));
        assert_eq!(amount("£0"), Ok("0.00".into()));
        assert_eq!(
            amount("-5.00"),
            Err(Problem::NegativeAmount("-5.00".into()))
        );
        assert_eq!(
            amount("($5.00)"),
            Err(Problem::NegativeAmount("($5.00)".into()))
        );
        assert_eq!(amount("12.345"), Err(Problem::NotAnAmount("12.345".into())));
        // Mistyped groups are not read as a larger amount.
        for mistyped in ["1,234,56", "1,2345", "12,34,567", "1.234.56", "1.23,45"] {
            assert_eq!(amount(mistyped), Err(Problem::NotAnAmount(mistyped.into())));
        }
        assert_eq!(amount("1.234.567,89"), Ok("1,234,567.89".into()));
        assert_eq!(amount("1,234,567.89"), Ok("1,234,567.89".into()));
        assert_eq!(amount("free"), Err(Problem::NotAnAmount("free".into())));
        assert_eq!(amount(""), Err(Problem::NotAnAmount("".into())));
    }

    fn day(text: &str) -> Option<WrittenDate> {
        parse_date(text)
    }

    #[test]
    fn dates_in_common_formats() {
        let jan15 = Some(WrittenDate::Exact(Time::from_date(2026, 1, 15)));
        assert_eq!(day("2026-01-15"), jan15);
        assert_eq!(day("2026-01-15 10:30:00"), jan15);
        assert_eq!(day("20260115"), jan15);
        assert_eq!(day("2026/01/15"), jan15);
        assert_eq!(day("15.01.2026"), jan15);
        assert_eq!(
            day("2026-01-15T10:30:00+01:00"),
            Some(WrittenDate::Exact(Time(
                Time::from_date(2026, 1, 15).0 + 9 * 3600 + 1800
            )))
        );
        assert_eq!(
            day("1/15/2026"),
            Some(WrittenDate::Slashed {
                first: 1,
                second: 15,
                year: 2026
            })
        );
        assert_eq!(day("20260230"), None);
        assert_eq!(day("yesterday"), None);
        assert_eq!(day("15/01/26"), None);
    }

    #[test]
    fn day_or_month_first_is_decided_by_the_file() {
        let csv = "customer,date,amount\na,03/04/2026,1\nb,25/04/2026,2\n";
        let read = read_orders(csv.as_bytes(), &Columns::default()).unwrap();
        assert_eq!(read.slashed_dates, Some(DateOrder::DayFirst));
        assert_eq!(read.orders[0].at, Time::from_date(2026, 4, 3));

        let csv = "customer,date,amount\na,03/04/2026,1\n";
        let read = read_orders(csv.as_bytes(), &Columns::default()).unwrap();
        assert_eq!(read.slashed_dates, Some(DateOrder::MonthFirstAssumed));
        assert_eq!(read.orders[0].at, Time::from_date(2026, 3, 4));

        let csv = "customer,date,amount\na,04/25/2026,1\nb,25/04/2026,2\nc,1/2/2026,3\n";
        let read = read_orders(csv.as_bytes(), &Columns::default()).unwrap();
        assert_eq!(read.orders.len(), 2);
        assert_eq!(
            read.bad_rows
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "line 3, column 2 (date): `25/04/2026` is not a date (write dates like 2026-01-15, 20260115 or 15/01/2026)"
            ]
        );
    }

    #[test]
    fn bad_rows_name_their_line_and_column() {
        let csv = "customer_id,order_date,total\nc1,2026-01-05,$12.50\n,2026-01-06,1\nc2,someday,5\nc3,2026-01-07,-4\nc4,2026-01-08,lots\n";
        let read = read_orders(csv.as_bytes(), &Columns::default()).unwrap();
        assert_eq!(read.rows, 5);
        assert_eq!(read.orders.len(), 1);
        assert_eq!(
            read.skipped_summary(5),
            [
                "1 amounts that are not amounts of money:",
                "  line 6, column 3 (total): `lots` is not an amount of money with at most 2 decimals (like 12.50 or $12.50)",
                "1 dates that are not dates:",
                "  line 4, column 2 (order_date): `someday` is not a date (write dates like 2026-01-15, 20260115 or 15/01/2026)",
                "1 negative amounts (refunds are not orders):",
                "  line 5, column 3 (total): `-4` is negative: a refund is not an order",
                "1 rows without a customer:",
                "  line 3, column 1 (customer_id): the customer is empty",
            ]
        );
    }

    #[test]
    fn an_empty_file_or_a_missing_column_is_an_error() {
        let error = read_orders("".as_bytes(), &Columns::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "orders file is empty: it needs a header line and one line per order"
        );
        let error =
            read_orders("customer,date,amount\n".as_bytes(), &Columns::default()).unwrap_err();
        assert!(matches!(error, OrdersError::Empty));
        let error = read_orders("who,when,how_much\n".as_bytes(), &Columns::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "orders file has no customer column `customer` or `customer_id` or `member` or `member_id` or \
             `client_id` or `user_id`; its columns are: who, when, how_much (choose one with `--customer COLUMN`)"
        );
    }
}
