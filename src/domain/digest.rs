//! A mergeable summary of durations for medians and p90 over any date range:
//! log-spaced buckets (each 4% wider than the last; under a minute every
//! second has its own), so a quantile read from it is within 2% of the
//! exact one, whatever the count. Days' digests add up; a value can be
//! taken out again (a ticket moves from one label to another).

use std::collections::BTreeMap;

/// Durations below this many seconds are kept exact.
const EXACT: i64 = 60;
/// The ratio of one bucket's bounds.
const GAMMA: f64 = 1.04;
/// Longer durations (ten years) count as this.
const MAX_S: i64 = 10 * 366 * 86_400;
/// The most buckets a digest can have (the bucket of MAX_S, plus one).
const BUCKETS_MAX: u16 = 500;

/// The stated error of a quantile read from a digest, relative.
pub const RELATIVE_ERROR: f64 = 0.02;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digest {
    count: i64,
    sum: i64,
    buckets: BTreeMap<u16, i64>,
}

fn bucket(v: i64) -> u16 {
    let v = v.clamp(0, MAX_S);
    if v < EXACT {
        return v as u16;
    }
    let b = ((v as f64 / EXACT as f64).ln() / GAMMA.ln()).floor() as i64;
    (EXACT + b).min(BUCKETS_MAX as i64 - 1) as u16
}

/// What a bucket stands for: its value when exact, else the geometric
/// middle of its bounds (within 2% of anything in it).
fn value(b: u16) -> f64 {
    let b = b as i64;
    if b < EXACT {
        return b as f64;
    }
    EXACT as f64 * GAMMA.powf((b - EXACT) as f64 + 0.5)
}

impl Digest {
    pub fn count(&self) -> i64 {
        self.count
    }

    pub fn sum(&self) -> i64 {
        self.sum
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn add(&mut self, seconds: i64) {
        self.put(seconds, 1);
    }

    pub fn remove(&mut self, seconds: i64) {
        self.put(seconds, -1);
    }

    fn put(&mut self, seconds: i64, n: i64) {
        let s = seconds.clamp(0, MAX_S);
        self.count += n;
        self.sum += n * s;
        let c = self.buckets.entry(bucket(s)).or_default();
        *c += n;
        if *c == 0 {
            self.buckets.remove(&bucket(s));
        }
    }

    /// Adds `other` (`sign` 1) or takes it away (`sign` -1).
    pub fn merge(&mut self, other: &Digest, sign: i64) {
        self.count += sign * other.count;
        self.sum += sign * other.sum;
        for (b, c) in &other.buckets {
            let e = self.buckets.entry(*b).or_default();
            *e += sign * c;
            if *e == 0 {
                self.buckets.remove(b);
            }
        }
    }

    /// The nearest-rank quantile `q` (0 < q ≤ 1) in seconds, rounded.
    pub fn quantile(&self, q: f64) -> Option<i64> {
        if self.count <= 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as i64).clamp(1, self.count);
        let mut seen = 0;
        for (b, c) in &self.buckets {
            seen += c;
            if seen >= rank {
                return Some(value(*b).round() as i64);
            }
        }
        self.buckets.keys().last().map(|b| value(*b).round() as i64)
    }

    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// `count sum b:c,b:c…`, or "" when empty.
    pub fn encode(&self) -> String {
        if self.count == 0 && self.buckets.is_empty() {
            return String::new();
        }
        let mut s = format!("{} {} ", self.count, self.sum);
        for (i, (b, c)) in self.buckets.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!("{b}:{c}"));
        }
        s
    }

    pub fn decode(s: &str) -> Result<Digest, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Digest::default());
        }
        let bad = || format!("digest {:?} is malformed", s.chars().take(40).collect::<String>());
        let mut parts = s.splitn(3, ' ');
        let count = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let sum = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let mut buckets = BTreeMap::new();
        for pair in parts.next().unwrap_or("").split(',').filter(|p| !p.is_empty()) {
            let (b, c) = pair.split_once(':').ok_or_else(bad)?;
            let b: u16 = b.parse().map_err(|_| bad())?;
            if b >= BUCKETS_MAX {
                return Err(bad());
            }
            buckets.insert(b, c.parse().map_err(|_| bad())?);
        }
        Ok(Digest { count, sum, buckets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(values: &mut [i64], q: f64) -> i64 {
        values.sort_unstable();
        let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
        values[rank - 1]
    }

    #[test]
    fn quantiles_are_within_the_stated_error() {
        let mut seed = 7u64;
        let mut values: Vec<i64> = (0..20_000)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                // Spread over seconds to weeks, log-uniformly.
                (2f64.powf((seed >> 11) as f64 / (1u64 << 53) as f64 * 20.0)) as i64
            })
            .collect();
        let mut d = Digest::default();
        for v in &values {
            d.add(*v);
        }
        for q in [0.1, 0.5, 0.9, 0.99, 1.0] {
            let want = exact(&mut values, q) as f64;
            let got = d.quantile(q).unwrap() as f64;
            assert!(
                (got - want).abs() <= want * RELATIVE_ERROR + 0.5,
                "q{q}: {got} vs exact {want}"
            );
        }
        assert_eq!(
            d.mean().unwrap(),
            values.iter().sum::<i64>() as f64 / values.len() as f64
        );
    }

    #[test]
    fn small_values_are_exact_and_removal_undoes_adding() {
        let mut d = Digest::default();
        for v in [3, 5, 5, 59, 7200] {
            d.add(v);
        }
        assert_eq!(d.quantile(0.5), Some(5));
        let before = d.clone();
        d.add(100_000);
        d.remove(100_000);
        assert_eq!(d, before);
        let mut other = Digest::default();
        other.add(40);
        d.merge(&other, 1);
        d.merge(&other, -1);
        assert_eq!(d, before);
    }

    #[test]
    fn encodes_and_refuses_garbage() {
        let mut d = Digest::default();
        assert_eq!(d.encode(), "");
        for v in [0, 1, 60, 3600, -5, i64::MAX] {
            d.add(v);
        }
        assert_eq!(Digest::decode(&d.encode()).unwrap(), d);
        for bad in ["x", "1", "1 2 3", "1 2 a:b", "1 2 9999:1"] {
            assert!(Digest::decode(bad).is_err(), "{bad}");
        }
    }
}
