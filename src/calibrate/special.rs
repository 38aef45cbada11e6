//! The two special functions the models need: log-gamma (Gamma-Gamma's
//! likelihood) and the Gauss hypergeometric function 2F1 (BG/NBD's
//! expected purchases in a period). Neither is in a small, maintained
//! crate without other baggage (statrs has no 2F1), and both are short.

/// ln Γ(x) for x > 0, by Lanczos' approximation (g = 7, 9 terms), which
/// is accurate to about 15 significant digits.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (i, c) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// 2F1(a, b; c; z) for 0 <= z < 1 by its power series, summed until a
/// term no longer changes the sum. The BG/NBD uses it with
/// z = t / (alpha + T + t), which stays well below 1 for any holdout
/// that is not many times longer than the population's mean time
/// between purchases.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if !(0.0..1.0).contains(&z) {
        return f64::NAN;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..1_000_000 {
        let n = n as f64;
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() <= 1e-15 * sum.abs() {
            return sum;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials_and_the_half() {
        assert!(ln_gamma(1.0).abs() < 1e-14);
        assert!(ln_gamma(2.0).abs() < 1e-14);
        assert!((ln_gamma(10.0) - 362_880f64.ln()).abs() < 1e-12);
        let half = 0.5 * std::f64::consts::PI.ln();
        assert!((ln_gamma(0.5) - half).abs() < 1e-14);
        // Γ(0.1) = 9.513507698668731836...
        assert!((ln_gamma(0.1) - 9.513_507_698_668_732f64.ln()).abs() < 1e-13);
        // ln Γ(100.5), as Python's math.lgamma gives it.
        assert!((ln_gamma(100.5) - 361.435_540_467_777_6).abs() < 1e-9);
    }

    #[test]
    fn hyp2f1_matches_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z.
        for z in [0.1, 0.5, 0.9, 0.99] {
            let expected = -(1.0f64 - z).ln() / z;
            assert!((hyp2f1(1.0, 1.0, 2.0, z) - expected).abs() < 1e-12 * expected);
        }
        // 2F1(a, b; b; z) = (1 - z)^-a.
        let expected = 0.3f64.powf(-2.5);
        assert!((hyp2f1(2.5, 1.7, 1.7, 0.7) - expected).abs() < 1e-12 * expected);
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_nan());
    }
}
