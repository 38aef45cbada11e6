//! From orders to what the models see of each customer: orders of one
//! customer on one day are one transaction (the papers' convention: a
//! split basket is one visit), and time is in days from the customer's
//! first transaction, which the models read as weeks (days / 7).

use std::collections::HashMap;

use super::bgnbd::Rfm;
use crate::orders::Order;
use crate::time::Time;

/// One customer, as the models see them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Customer {
    /// Repeat transactions and their timing in the calibration period.
    pub rfm: Rfm,
    /// The total value of those repeat transactions.
    pub repeat_value: f64,
    /// The value of the first transaction, which segments customers.
    pub first_value: f64,
    /// The day of the first transaction, from the history's first day.
    pub arrived: u32,
    /// Transactions after the calibration period, and their value.
    pub holdout: u32,
    pub holdout_value: f64,
}

impl Customer {
    /// The mean value of the repeat transactions (z̄), if any.
    pub fn mean_repeat_value(&self) -> Option<f64> {
        (self.rfm.x > 0).then(|| self.repeat_value / f64::from(self.rfm.x))
    }
}

/// The customers of an orders history, split at the end of the
/// calibration period.
#[derive(Clone, Debug)]
pub struct History {
    /// Customers whose first transaction is in the calibration period.
    pub customers: Vec<Customer>,
    pub first_day: Time,
    pub calibration_end: Time,
    pub last_day: Time,
    /// Orders counted (all of them, holdout included).
    pub orders: usize,
    /// Transactions (customer-days) in the calibration period.
    pub calibration_transactions: usize,
    /// Customers whose first order comes after the calibration period:
    /// the models know nothing of them, so they are left out.
    pub new_in_holdout: usize,
}

impl History {
    /// Weeks from the end of the calibration period to the last day of
    /// the file: the holdout period.
    pub fn holdout_weeks(&self) -> f64 {
        (self.last_day.day() - self.calibration_end.day()).max(0) as f64 / 7.0
    }
}

/// Builds the customers; `calibration_end` is the last day of the
/// calibration period (the file's last day when `None`). The caller
/// checks that there are orders and that the end is not before them.
pub fn history(orders: &[Order], calibration_end: Option<Time>) -> History {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut days: Vec<(u32, i64, i64)> = orders
        .iter()
        .map(|order| {
            let next = ids.len() as u32;
            let id = *ids.entry(order.customer.as_str()).or_insert(next);
            (id, order.at.day(), order.amount.raw())
        })
        .collect();
    days.sort_unstable();
    let first_day = days.iter().map(|d| d.1).min().unwrap_or(0);
    let last_day = days.iter().map(|d| d.1).max().unwrap_or(0);
    let end = calibration_end.map_or(last_day, Time::day);
    let value = |raw: i64| raw as f64 / crate::decimal::Decimal::SCALE as f64;

    let mut customers = Vec::new();
    let mut new_in_holdout = 0;
    let mut calibration_transactions = 0;
    let mut i = 0;
    while i < days.len() {
        let id = days[i].0;
        let mut j = i;
        while j < days.len() && days[j].0 == id {
            j += 1;
        }
        // One transaction per day: (day, value of the day's orders).
        let mut transactions: Vec<(i64, i64)> = Vec::new();
        for &(_, day, raw) in &days[i..j] {
            match transactions.last_mut() {
                Some((last, total)) if *last == day => *total += raw,
                _ => transactions.push((day, raw)),
            }
        }
        i = j;
        let (first, first_raw) = transactions[0];
        if first > end {
            new_in_holdout += 1;
            continue;
        }
        let in_calibration = transactions.iter().take_while(|t| t.0 <= end).count();
        calibration_transactions += in_calibration;
        let last = transactions[in_calibration - 1].0;
        let repeat_raw: i64 = transactions[1..in_calibration].iter().map(|t| t.1).sum();
        customers.push(Customer {
            rfm: Rfm {
                x: (in_calibration - 1) as u32,
                t_x: (last - first) as u32,
                t: (end - first) as u32,
            },
            repeat_value: value(repeat_raw),
            first_value: value(first_raw),
            arrived: (first - first_day) as u32,
            holdout: (transactions.len() - in_calibration) as u32,
            holdout_value: value(transactions[in_calibration..].iter().map(|t| t.1).sum()),
        });
    }
    History {
        customers,
        first_day: Time(first_day * crate::time::DAY),
        calibration_end: Time(end * crate::time::DAY),
        last_day: Time(last_day * crate::time::DAY),
        orders: orders.len(),
        calibration_transactions,
        new_in_holdout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::Decimal;

    fn order(customer: &str, date: (i32, u32, u32), amount: &str) -> Order {
        Order {
            line: 0,
            customer: customer.into(),
            at: Time::from_date(date.0, date.1, date.2),
            amount: Decimal::parse(amount).unwrap(),
            order_id: None,
        }
    }

    #[test]
    fn same_day_orders_are_one_transaction_and_time_counts_from_the_first() {
        let orders = [
            order("a", (1997, 1, 1), "10"),
            order("a", (1997, 1, 1), "5"),
            order("a", (1997, 1, 18), "29.73"),
            order("a", (1997, 8, 2), "14.96"),
            order("a", (1997, 12, 12), "26.48"),
            order("a", (1998, 2, 1), "1"),
            order("b", (1997, 3, 1), "7"),
            order("c", (1997, 10, 5), "3"),
        ];
        let h = history(&orders, Some(Time::from_date(1997, 9, 30)));
        assert_eq!(h.customers.len(), 2);
        assert_eq!(h.new_in_holdout, 1);
        let a = h.customers[0];
        assert_eq!(
            a.rfm,
            Rfm {
                x: 2,
                t_x: 213,
                t: 272
            }
        );
        assert_eq!(a.first_value, 15.0);
        assert!((a.mean_repeat_value().unwrap() - 22.345).abs() < 1e-12);
        assert_eq!(a.holdout, 2);
        assert_eq!(a.holdout_value, 27.48);
        let b = h.customers[1];
        assert_eq!(
            b.rfm,
            Rfm {
                x: 0,
                t_x: 0,
                t: 213
            }
        );
        assert_eq!(b.mean_repeat_value(), None);
        assert_eq!(h.calibration_transactions, 4);
        assert_eq!(h.last_day, Time::from_date(1998, 2, 1));
        assert!((h.holdout_weeks() - 124.0 / 7.0).abs() < 1e-12);
    }
}
