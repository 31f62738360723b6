//! A small box-constrained minimiser for the five MGPS prior parameters: Nelder–Mead to find a
//! basin without derivatives, then a projected quasi-Newton (BFGS) that uses the analytic gradient
//! and may start from a supplied inverse Hessian. Fixed dimension keeps it allocation-free.

pub const DIM: usize = 5;
pub type Vector = [f64; DIM];
pub type Matrix = [[f64; DIM]; DIM];

/// Lower and upper bound of every coordinate.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub lower: Vector,
    pub upper: Vector,
}

impl Bounds {
    pub fn clamp(&self, x: &Vector) -> Vector {
        std::array::from_fn(|i| x[i].clamp(self.lower[i], self.upper[i]))
    }
}

/// Nelder–Mead (Lagarias et al. 1998 coefficients) on the clamped objective, stopping when the
/// simplex's values agree to `ftol` (absolute) or after `max_evals` evaluations.
pub fn nelder_mead(
    f: &mut dyn FnMut(&Vector) -> f64,
    x0: &Vector,
    step: f64,
    bounds: &Bounds,
    ftol: f64,
    max_evals: usize,
) -> (Vector, f64, usize) {
    let mut eval = |x: &Vector, evals: &mut usize| {
        *evals += 1;
        let v = f(&bounds.clamp(x));
        if v.is_nan() { f64::INFINITY } else { v }
    };
    let mut evals = 0;
    let start = bounds.clamp(x0);
    let mut simplex: Vec<(Vector, f64)> = Vec::with_capacity(DIM + 1);
    simplex.push((start, eval(&start, &mut evals)));
    for i in 0..DIM {
        let mut x = start;
        x[i] += if x[i] + step <= bounds.upper[i] {
            step
        } else {
            -step
        };
        simplex.push((x, eval(&x, &mut evals)));
    }
    while evals < max_evals {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        if (simplex[DIM].1 - simplex[0].1).abs() <= ftol {
            break;
        }
        let centroid: Vector = std::array::from_fn(|i| {
            simplex[..DIM].iter().map(|s| s.0[i]).sum::<f64>() / DIM as f64
        });
        let along = |t: f64| -> Vector {
            std::array::from_fn(|i| centroid[i] + t * (simplex[DIM].0[i] - centroid[i]))
        };
        let reflected = along(-1.0);
        let fr = eval(&reflected, &mut evals);
        if fr < simplex[0].1 {
            let expanded = along(-2.0);
            let fe = eval(&expanded, &mut evals);
            simplex[DIM] = if fe < fr {
                (expanded, fe)
            } else {
                (reflected, fr)
            };
        } else if fr < simplex[DIM - 1].1 {
            simplex[DIM] = (reflected, fr);
        } else {
            let (contracted, fc) = if fr < simplex[DIM].1 {
                let x = along(-0.5);
                (x, eval(&x, &mut evals))
            } else {
                let x = along(0.5);
                (x, eval(&x, &mut evals))
            };
            if fc < simplex[DIM].1.min(fr) {
                simplex[DIM] = (contracted, fc);
            } else {
                let best = simplex[0].0;
                for s in simplex.iter_mut().skip(1) {
                    s.0 = std::array::from_fn(|i| best[i] + 0.5 * (s.0[i] - best[i]));
                    s.1 = eval(&s.0, &mut evals);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    (bounds.clamp(&simplex[0].0), simplex[0].1, evals)
}

/// Result of a quasi-Newton run.
#[derive(Debug, Clone, Copy)]
pub struct Minimum {
    pub x: Vector,
    pub value: f64,
    pub evaluations: usize,
    /// The projected gradient met the tolerance (rather than the iteration limit being reached).
    pub converged: bool,
}

/// Projected BFGS with Armijo backtracking. `fg` returns the value and the gradient. A coordinate
/// on a bound whose gradient pushes outward is held there: that is how a degenerate optimum (a
/// component collapsing to a point mass) is reached and reported rather than chased to infinity.
/// Converges when the Newton decrement gᵀHg, or the gain of a step, falls below `tol` (the
/// objective's own units).
pub fn bfgs(
    fg: &mut dyn FnMut(&Vector) -> (f64, Vector),
    x0: &Vector,
    inverse_hessian: Option<Matrix>,
    bounds: &Bounds,
    tol: f64,
    max_iter: usize,
) -> Minimum {
    let mut x = bounds.clamp(x0);
    let (mut fx, mut g) = fg(&x);
    let mut evaluations = 1;
    let mut h = inverse_hessian.unwrap_or_else(identity);
    let mut converged = false;
    for _ in 0..max_iter {
        let free: [bool; DIM] = std::array::from_fn(|i| {
            !((x[i] <= bounds.lower[i] && g[i] > 0.0) || (x[i] >= bounds.upper[i] && g[i] < 0.0))
        });
        let gf: Vector = std::array::from_fn(|i| if free[i] { g[i] } else { 0.0 });
        let mut d: Vector = std::array::from_fn(|i| {
            if free[i] {
                -(0..DIM)
                    .filter(|&j| free[j])
                    .map(|j| h[i][j] * gf[j])
                    .sum::<f64>()
            } else {
                0.0
            }
        });
        let mut slope = dot(&gf, &d);
        if slope.is_nan() || slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            h = identity();
            d = gf.map(|v| -v);
            slope = dot(&gf, &d);
        }
        if -slope < tol {
            converged = true;
            break;
        }
        let mut t = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let trial = bounds.clamp(&std::array::from_fn(|i| x[i] + t * d[i]));
            let (ft, gt) = fg(&trial);
            evaluations += 1;
            if ft.is_finite() && ft <= fx + 1e-4 * t * slope {
                accepted = Some((trial, ft, gt));
                break;
            }
            t *= 0.5;
        }
        let Some((xn, fnew, gn)) = accepted else {
            break;
        };
        let s: Vector = std::array::from_fn(|i| xn[i] - x[i]);
        let y: Vector = std::array::from_fn(|i| gn[i] - g[i]);
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
            let hy: Vector = std::array::from_fn(|i| dot(&h[i], &y));
            let yhy = dot(&y, &hy);
            for i in 0..DIM {
                for j in 0..DIM {
                    h[i][j] +=
                        (sy + yhy) * s[i] * s[j] / (sy * sy) - (hy[i] * s[j] + s[i] * hy[j]) / sy;
                }
            }
        }
        let progress = fx - fnew;
        x = xn;
        fx = fnew;
        g = gn;
        // A step that gains less than the tolerance ends the search: along a flat ridge (a
        // component collapsing to a point mass) the decrement can stay above it while the
        // objective no longer moves.
        if progress.abs() < tol {
            converged = true;
            break;
        }
    }
    Minimum {
        x,
        value: fx,
        evaluations,
        converged,
    }
}

/// The inverse of a symmetric matrix made positive definite by the smallest diagonal shift that
/// lets Cholesky succeed; `None` if the matrix is not finite.
pub fn regularised_inverse(m: &Matrix) -> Option<Matrix> {
    if m.iter().flatten().any(|v| !v.is_finite()) {
        return None;
    }
    let scale = (0..DIM)
        .map(|i| m[i][i].abs())
        .fold(0.0, f64::max)
        .max(1e-300);
    let mut shift = 0.0;
    for _ in 0..60 {
        let mut a = *m;
        for (i, row) in a.iter_mut().enumerate() {
            row[i] += shift;
        }
        if let Some(l) = cholesky(&a) {
            let mut inv = [[0.0; DIM]; DIM];
            for (col, inv_col) in (0..DIM).map(|c| (c, solve_cholesky(&l, &unit(c)))) {
                for row in 0..DIM {
                    inv[row][col] = inv_col[row];
                }
            }
            return Some(inv);
        }
        shift = if shift == 0.0 {
            scale * 1e-10
        } else {
            shift * 10.0
        };
    }
    None
}

fn cholesky(a: &Matrix) -> Option<Matrix> {
    let mut l = [[0.0; DIM]; DIM];
    for i in 0..DIM {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    Some(l)
}

fn solve_cholesky(l: &Matrix, b: &Vector) -> Vector {
    let mut y = [0.0; DIM];
    for i in 0..DIM {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = [0.0; DIM];
    for i in (0..DIM).rev() {
        x[i] = (y[i] - (i + 1..DIM).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    x
}

fn unit(i: usize) -> Vector {
    std::array::from_fn(|j| if i == j { 1.0 } else { 0.0 })
}

fn identity() -> Matrix {
    std::array::from_fn(unit)
}

fn dot(a: &Vector, b: &Vector) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDE: Bounds = Bounds {
        lower: [-10.0; DIM],
        upper: [10.0; DIM],
    };

    fn quadratic(x: &Vector) -> (f64, Vector) {
        // Minimum at (1, 2, 3, 4, 5), condition number 100.
        let w = [1.0, 3.0, 10.0, 30.0, 100.0];
        let v = (0..DIM)
            .map(|i| w[i] * (x[i] - (i + 1) as f64).powi(2))
            .sum();
        (
            v,
            std::array::from_fn(|i| 2.0 * w[i] * (x[i] - (i + 1) as f64)),
        )
    }

    #[test]
    fn nelder_mead_finds_the_minimum_of_a_quadratic_bowl() {
        let (x, v, _) = nelder_mead(
            &mut |x| quadratic(x).0,
            &[0.0; DIM],
            1.0,
            &WIDE,
            1e-14,
            20_000,
        );
        assert!(v < 1e-8, "{v}");
        assert!((x[4] - 5.0).abs() < 1e-4);
    }

    #[test]
    fn bfgs_converges_on_a_quadratic_and_stops_at_an_active_bound() {
        let m = bfgs(&mut quadratic, &[0.0; DIM], None, &WIDE, 1e-20, 200);
        assert!(m.converged && (m.x[2] - 3.0).abs() < 1e-8);
        let tight = Bounds {
            lower: [-10.0; DIM],
            upper: [10.0, 10.0, 10.0, 10.0, 4.0],
        };
        let m = bfgs(&mut quadratic, &[0.0; DIM], None, &tight, 1e-20, 200);
        assert_eq!(m.x[4], 4.0);
        assert!((m.x[3] - 4.0).abs() < 1e-8);
    }

    #[test]
    fn the_regularised_inverse_of_a_positive_matrix_is_its_inverse() {
        let mut m = [[0.0; DIM]; DIM];
        for (i, row) in m.iter_mut().enumerate() {
            row[i] = (i + 1) as f64;
        }
        m[0][1] = 0.5;
        m[1][0] = 0.5;
        let inv = regularised_inverse(&m).unwrap();
        for (i, row) in m.iter().enumerate() {
            for j in 0..DIM {
                let p: f64 = (0..DIM).map(|k| row[k] * inv[k][j]).sum();
                assert!((p - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }
}
