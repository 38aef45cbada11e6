//! Replay: a real orders history (CSV) as events, so that a brand can see
//! what a program would have done with last year's customers. Each
//! customer is enrolled at their first order; a `tick` at the start of
//! every month lets expiry, monthly rewards and tier reviews happen.

use serde_json::json;

use crate::orders::Orders;
use crate::time::Time;

/// The events of an orders history, in time order, as JSON lines with
/// the orders file's line number (0 for enrolments and ticks).
pub fn events(read: &Orders) -> Vec<(usize, String)> {
    let mut events = Vec::new();
    let mut orders: Vec<_> = read.orders.iter().collect();
    orders.sort_by_key(|order| (order.at, order.line));

    let mut enrolled = std::collections::HashSet::new();
    let mut next_tick = orders
        .first()
        .map_or(Time::NEVER, |order| order.at.next_month_start());
    for order in orders {
        let (at, who, line) = (&order.at, &order.customer, order.line);
        while next_tick <= *at {
            events.push((0, tick(next_tick)));
            next_tick = next_tick.next_month_start();
        }
        if enrolled.insert(who.clone()) {
            let event = json!({"id": format!("enroll-{who}"), "at": at.to_string(), "type": "enroll", "member": who});
            events.push((0, event.to_string()));
        }
        let mut event = json!({
            "id": format!("order-line-{line}"),
            "at": at.to_string(),
            "type": "purchase",
            "member": who,
            "amount": order.amount.display(2),
        });
        if let Some(order_id) = &order.order_id {
            event["order"] = json!(order_id);
        }
        events.push((line as usize, event.to_string()));
    }
    if next_tick != Time::NEVER {
        events.push((0, tick(next_tick)));
    }
    events
}

fn tick(at: Time) -> String {
    json!({"id": format!("tick-{at}"), "at": at.to_string(), "type": "tick"}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::{Columns, read_orders};

    #[test]
    fn orders_become_enrolments_purchases_and_month_ticks() {
        let csv = "customer_id,order_date,total\nc1,2026-01-05,$12.50\nc2,2026-02-10T10:00:00Z,20\nc1,2026-01-20,7\nc3,yesterday,5\n";
        let read = read_orders(csv.as_bytes(), &Columns::default()).unwrap();
        let events = events(&read);
        let lines: Vec<&str> = events.iter().map(|(_, e)| e.as_str()).collect();
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
    }
}
