//! Maximum likelihood by Nelder-Mead, and standard errors from the
//! curvature of the log-likelihood at its maximum.
//!
//! The models here have three or four positive parameters and smooth
//! likelihoods, which is what Nelder-Mead does well without gradients
//! (the BG/NBD and Gamma-Gamma gradients need digamma functions). The
//! search runs on the logarithms of the parameters, so that every point
//! it tries is a valid model, and restarts from its best point until a
//! restart no longer improves it, which guards against the simplex
//! collapsing early.

/// The best point found and what it took.
#[derive(Clone, Debug, PartialEq)]
pub struct Minimum {
    pub point: Vec<f64>,
    pub value: f64,
    pub evaluations: usize,
    /// Whether the simplex shrank below the tolerance before the
    /// evaluation budget ran out.
    pub converged: bool,
}

/// Stop when the simplex's values agree to this relative precision and
/// its points to this absolute one (in log-parameters: relative).
const VALUE_TOLERANCE: f64 = 1e-13;
const POINT_TOLERANCE: f64 = 1e-9;

/// Nelder-Mead with restarts; `f` may return NaN or infinity where it
/// is not defined, which counts as worse than anything.
pub fn minimize(
    mut f: impl FnMut(&[f64]) -> f64,
    start: &[f64],
    max_evaluations: usize,
) -> Minimum {
    let mut best = nelder_mead(&mut f, start, 1.0, max_evaluations);
    for _ in 0..10 {
        if best.evaluations >= max_evaluations {
            break;
        }
        let budget = max_evaluations - best.evaluations;
        let again = nelder_mead(&mut f, &best.point, 0.1, budget);
        let improved = again.value < best.value - VALUE_TOLERANCE * best.value.abs();
        let evaluations = best.evaluations + again.evaluations;
        if again.value <= best.value {
            best = Minimum {
                evaluations,
                ..again
            };
        } else {
            best.evaluations = evaluations;
        }
        if !improved {
            break;
        }
    }
    best
}

fn value_of(f: &mut impl FnMut(&[f64]) -> f64, x: &[f64]) -> f64 {
    let v = f(x);
    if v.is_nan() { f64::INFINITY } else { v }
}

/// One Nelder-Mead search (Lagarias et al. 1998 coefficients) from a
/// simplex of `start` and `start` moved by `step` along each axis.
pub fn nelder_mead(
    f: &mut impl FnMut(&[f64]) -> f64,
    start: &[f64],
    step: f64,
    max_evaluations: usize,
) -> Minimum {
    let n = start.len();
    let mut points: Vec<Vec<f64>> = vec![start.to_vec()];
    for i in 0..n {
        let mut p = start.to_vec();
        p[i] += step;
        points.push(p);
    }
    let mut values: Vec<f64> = points.iter().map(|p| value_of(f, p)).collect();
    let mut evaluations = n + 1;
    let mut converged = false;
    let mut centroid = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let mut second = vec![0.0; n];
    while evaluations < max_evaluations {
        // Best first, worst last.
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
        points = order.iter().map(|&i| points[i].clone()).collect();
        values = order.iter().map(|&i| values[i]).collect();

        let spread = values[n] - values[0];
        let size = points[1..]
            .iter()
            .flat_map(|p| p.iter().zip(&points[0]).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        if spread <= VALUE_TOLERANCE * values[0].abs().max(1e-300) && size <= POINT_TOLERANCE {
            converged = true;
            break;
        }

        for (j, c) in centroid.iter_mut().enumerate() {
            *c = points[..n].iter().map(|p| p[j]).sum::<f64>() / n as f64;
        }
        let along = |t: f64, out: &mut Vec<f64>, worst: &[f64]| {
            for j in 0..n {
                out[j] = centroid[j] + t * (worst[j] - centroid[j]);
            }
        };
        along(-1.0, &mut trial, &points[n]);
        let reflected = value_of(f, &trial);
        evaluations += 1;
        if reflected < values[0] {
            along(-2.0, &mut second, &points[n]);
            let expanded = value_of(f, &second);
            evaluations += 1;
            if expanded < reflected {
                points[n].clone_from(&second);
                values[n] = expanded;
            } else {
                points[n].clone_from(&trial);
                values[n] = reflected;
            }
            continue;
        }
        if reflected < values[n - 1] {
            points[n].clone_from(&trial);
            values[n] = reflected;
            continue;
        }
        // Contract outside (towards the reflected point) or inside.
        let (t, against) = if reflected < values[n] {
            (-0.5, reflected)
        } else {
            (0.5, values[n])
        };
        along(t, &mut second, &points[n]);
        let contracted = value_of(f, &second);
        evaluations += 1;
        if contracted <= against {
            points[n].clone_from(&second);
            values[n] = contracted;
            continue;
        }
        // Shrink towards the best point.
        let (best, rest) = points.split_at_mut(1);
        for (point, value) in rest.iter_mut().zip(&mut values[1..]) {
            for (x, b) in point.iter_mut().zip(&best[0]) {
                *x = b + 0.5 * (*x - b);
            }
            *value = value_of(f, point);
        }
        evaluations += n;
    }
    let best = (0..=n)
        .min_by(|&i, &j| values[i].total_cmp(&values[j]))
        .unwrap_or(0);
    Minimum {
        point: points[best].clone(),
        value: values[best],
        evaluations,
        converged,
    }
}

/// The matrix of second derivatives of `f` at `at`, by central
/// differences with steps relative to each coordinate.
pub fn hessian(mut f: impl FnMut(&[f64]) -> f64, at: &[f64]) -> Vec<Vec<f64>> {
    let n = at.len();
    let steps: Vec<f64> = at.iter().map(|x| 1e-4 * x.abs().max(1e-3)).collect();
    let mut h = vec![vec![0.0; n]; n];
    let mut point = at.to_vec();
    let center = f(at);
    for i in 0..n {
        for j in i..n {
            let value = if i == j {
                point[i] = at[i] + steps[i];
                let plus = f(&point);
                point[i] = at[i] - steps[i];
                let minus = f(&point);
                point[i] = at[i];
                (plus - 2.0 * center + minus) / (steps[i] * steps[i])
            } else {
                let mut corner = |si: f64, sj: f64| {
                    point[i] = at[i] + si * steps[i];
                    point[j] = at[j] + sj * steps[j];
                    let v = f(&point);
                    point[i] = at[i];
                    point[j] = at[j];
                    v
                };
                (corner(1.0, 1.0) - corner(1.0, -1.0) - corner(-1.0, 1.0) + corner(-1.0, -1.0))
                    / (4.0 * steps[i] * steps[j])
            };
            h[i][j] = value;
            h[j][i] = value;
        }
    }
    h
}

/// The inverse of a small matrix by Gauss-Jordan elimination with
/// partial pivoting; `None` when it is singular.
pub fn invert(matrix: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = matrix.len();
    let mut a: Vec<Vec<f64>> = matrix.to_vec();
    let mut inverse: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if !a[pivot][col].is_finite() || a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        inverse.swap(col, pivot);
        let p = a[col][col];
        for j in 0..n {
            a[col][j] /= p;
            inverse[col][j] /= p;
        }
        for row in 0..n {
            if row != col {
                let factor = a[row][col];
                for j in 0..n {
                    a[row][j] -= factor * a[col][j];
                    inverse[row][j] -= factor * inverse[col][j];
                }
            }
        }
    }
    Some(inverse)
}

/// Standard errors of a maximum-likelihood estimate: the square roots of
/// the diagonal of the inverse of the negative log-likelihood's
/// Hessian. `None` when the likelihood is flat or not at a maximum.
pub fn standard_errors(
    negative_log_likelihood: impl FnMut(&[f64]) -> f64,
    at: &[f64],
) -> Option<Vec<f64>> {
    let h = hessian(negative_log_likelihood, at);
    let covariance = invert(&h)?;
    (0..at.len())
        .map(|i| {
            let variance = covariance[i][i];
            (variance.is_finite() && variance > 0.0).then(|| variance.sqrt())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_bottom_of_rosenbrocks_valley() {
        let rosenbrock = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let found = minimize(rosenbrock, &[-1.2, 1.0], 10_000);
        assert!(found.converged);
        assert!((found.point[0] - 1.0).abs() < 1e-6, "{found:?}");
        assert!((found.point[1] - 1.0).abs() < 1e-6, "{found:?}");
    }

    #[test]
    fn finds_a_four_dimensional_quadratics_minimum_and_treats_nan_as_worst() {
        let target = [0.5, -2.0, 3.0, 10.0];
        let f = |x: &[f64]| {
            if x[0] < -5.0 {
                return f64::NAN;
            }
            x.iter()
                .zip(target)
                .enumerate()
                .map(|(i, (a, b))| (i as f64 + 1.0) * (a - b).powi(2))
                .sum::<f64>()
                + 7.0
        };
        let found = minimize(f, &[0.0; 4], 20_000);
        for (x, t) in found.point.iter().zip(target) {
            assert!((x - t).abs() < 1e-5, "{found:?}");
        }
        assert!((found.value - 7.0).abs() < 1e-9);
    }

    #[test]
    fn standard_errors_of_a_normal_mean_and_the_inverse_of_a_matrix() {
        // -log L of n draws with known sigma: n (mu - mean)^2 / (2 sigma^2);
        // the standard error of mu is sigma / sqrt(n).
        let (n, sigma) = (400.0, 3.0);
        let nll = |x: &[f64]| n * (x[0] - 1.5).powi(2) / (2.0 * sigma * sigma);
        let se = standard_errors(nll, &[1.5]).unwrap();
        assert!((se[0] - sigma / 20.0).abs() < 1e-6, "{se:?}");

        let m = vec![vec![4.0, 7.0], vec![2.0, 6.0]];
        let inverse = invert(&m).unwrap();
        let expected = [[0.6, -0.7], [-0.2, 0.4]];
        for i in 0..2 {
            for j in 0..2 {
                assert!((inverse[i][j] - expected[i][j]).abs() < 1e-12);
            }
        }
        assert_eq!(invert(&[vec![1.0, 2.0], vec![2.0, 4.0]]), None);
    }
}
