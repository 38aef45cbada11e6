//! Replay: a real orders history (CSV) as events, so that a brand can see
//! what a program would have done with last year's customers. Each
//! customer is enrolled at their first order; a `tick` at the start of
//! every month lets expiry, monthly rewards and tier reviews happen.

use std::io::Read;

use serde_json::json;
use thiserror::Error;

use crate::decimal::Decimal;
use crate::time::Time;

#[derive(Debug, Error)]
pub enum ReplayError {
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

/// A line of the orders file that cannot be an order.
#[derive(Debug, PartialEq, Eq)]
pub struct BadRow {
    pub line: usize,
    pub reason: String,
}

/// The events of an orders history, in time order, as JSON lines with
/// the orders file's line number (0 for enrolments and ticks).
#[derive(Debug, Default)]
pub struct Replay {
    pub events: Vec<(usize, String)>,
    pub bad_rows: Vec<BadRow>,
}

fn find(
    headers: &csv::StringRecord,
    wanted: &Option<String>,
    names: &[&str],
    what: &'static str,
    flag: &'static str,
) -> Result<usize, ReplayError> {
    let position = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let found = match wanted {
        Some(name) => position(name),
        None => names.iter().find_map(|name| position(name)),
    };
    found.ok_or_else(|| ReplayError::MissingColumn {
        what,
        wanted: wanted.clone().unwrap_or_else(|| names.join("` or `")),
        flag,
        columns: headers.iter().collect::<Vec<_>>().join(", "),
    })
}

/// `2026-01-15`, an RFC 3339 time, or a date followed by anything.
fn parse_when(text: &str) -> Option<Time> {
    let text = text.trim();
    Time::parse(text).or_else(|| Time::parse(text.get(..10)?))
}

/// `12.50`, `$12.50`, `1,234.00`.
fn parse_amount(text: &str) -> Option<Decimal> {
    let text = text.trim().trim_start_matches(['$', '€', '£']).trim();
    let value = Decimal::parse(text).ok()?;
    (!value.is_negative() && value.decimals() <= 2).then_some(value)
}

pub fn read_orders(input: impl Read, columns: &Columns) -> Result<Replay, ReplayError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = reader.headers()?.clone();
    let customer = find(
        &headers,
        &columns.customer,
        CUSTOMER_NAMES,
        "customer",
        "customer",
    )?;
    let date = find(&headers, &columns.date, DATE_NAMES, "date", "date")?;
    let amount = find(&headers, &columns.amount, AMOUNT_NAMES, "amount", "amount")?;
    let order = ORDER_NAMES
        .iter()
        .find_map(|name| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
        })
        .filter(|&o| o != customer);

    let mut replay = Replay::default();
    let mut orders: Vec<(Time, usize, String, Decimal, Option<String>)> = Vec::new();
    for (row, record) in reader.records().enumerate() {
        // Line 1 is the header.
        let line = row + 2;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                replay.bad_rows.push(BadRow {
                    line,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let who = field(customer);
        let Some(at) = parse_when(field(date)) else {
            replay.bad_rows.push(BadRow {
                line,
                reason: format!("`{}` is not a date or an RFC 3339 time", field(date)),
            });
            continue;
        };
        let Some(value) = parse_amount(field(amount)) else {
            replay.bad_rows.push(BadRow {
                line,
                reason: format!("`{}` is not an amount of money", field(amount)),
            });
            continue;
        };
        if who.is_empty() {
            replay.bad_rows.push(BadRow {
                line,
                reason: "the customer is empty".into(),
            });
            continue;
        }
        let order_id = order
            .map(|o| field(o).to_string())
            .filter(|o| !o.is_empty());
        orders.push((at, line, who.to_string(), value, order_id));
    }
    orders.sort_by_key(|(at, line, ..)| (*at, *line));

    let mut enrolled = std::collections::HashSet::new();
    let mut next_tick = orders
        .first()
        .map_or(Time::NEVER, |(at, ..)| at.next_month_start());
    for (at, line, who, value, order_id) in &orders {
        while next_tick <= *at {
            replay.events.push((0, tick(next_tick)));
            next_tick = next_tick.next_month_start();
        }
        if enrolled.insert(who.clone()) {
            let event = json!({"id": format!("enroll-{who}"), "at": at.to_string(), "type": "enroll", "member": who});
            replay.events.push((0, event.to_string()));
        }
        let mut event = json!({
            "id": format!("order-line-{line}"),
            "at": at.to_string(),
            "type": "purchase",
            "member": who,
            "amount": value.display(2),
        });
        if let Some(order_id) = order_id {
            event["order"] = json!(order_id);
        }
        replay.events.push((*line, event.to_string()));
    }
    if next_tick != Time::NEVER {
        replay.events.push((0, tick(next_tick)));
    }
    Ok(replay)
}

fn tick(at: Time) -> String {
    json!({"id": format!("tick-{at}"), "at": at.to_string(), "type": "tick"}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_become_enrolments_purchases_and_month_ticks() {
        let csv = "customer_id,order_date,total\nc1,2026-01-05,$12.50\nc2,2026-02-10T10:00:00Z,20\nc1,2026-01-20,7\nc3,yesterday,5\n";
        let replay = read_orders(csv.as_bytes(), &Columns::default()).unwrap();
        let lines: Vec<&str> = replay.events.iter().map(|(_, e)| e.as_str()).collect();
        assert_eq!(
            lines,
            [
                r#"{"at":"2026-01-05","id":"enroll-c1","member":"c1","type":"enroll"}"#,
                r#"{"amount":"12.50","at":"2026-01-05","id":"order-line-2","member":"c1","type":"purchase"}"#,
                r#"{"amount":"7.00","at":"2026-01-20","id":"order-line-4","member":"c1","type":"purchase"}"#,
                r#"{"at":"2026-02-01","id":"tick-2026-02-01","type":"tick"}"#,
                r#"{"at":"2026-02-10T10:00:00Z","id":"enroll-c2","member":"c2","type":"enroll"}"#,
                r#"{"amount":"20.00","at":"2026-02-10T10:00:00Z","id":"order-line-3","member":"c2","type":"purchase"}"#,
                r#"{"at":"2026-03-01","id":"tick-2026-03-01","type":"tick"}"#,
            ]
        );
        assert_eq!(
            replay.bad_rows,
            [BadRow {
                line: 5,
                reason: "`yesterday` is not a date or an RFC 3339 time".into()
            }]
        );
    }

    #[test]
    fn a_missing_column_names_the_columns_there_are() {
        let csv = "who,when,how_much\n";
        let error = read_orders(csv.as_bytes(), &Columns::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "orders file has no customer column `customer` or `customer_id` or `member` or `member_id` or \
             `client_id` or `user_id`; its columns are: who, when, how_much (choose one with `--customer COLUMN`)"
        );
    }
}
