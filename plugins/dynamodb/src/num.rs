//! DynamoDB numbers: up to 38 significant digits, magnitudes from 1E-130
//! to 9.9999999999999999999999999999999999999E+125, exact decimal arithmetic
//! (never f64).

use std::cmp::Ordering;

/// A decimal `±0.d1d2d3… × 10^exp`; `digits` has no leading or trailing
/// zeros, and zero is the empty digit list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Num {
    pub neg: bool,
    pub digits: Vec<u8>,
    pub exp: i32,
}

impl Num {
    pub fn zero() -> Num {
        Num {
            neg: false,
            digits: Vec::new(),
            exp: 0,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Parse DynamoDB's number text; the error is AWS's message.
    pub fn parse(s: &str) -> Result<Num, String> {
        let bad = || format!("The parameter cannot be converted to a numeric value: {s}");
        let t = s.trim();
        let (neg, rest) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (mant, e) = match rest.find(['e', 'E']) {
            Some(i) => {
                let e: i32 = rest[i + 1..].parse().map_err(|_| bad())?;
                (&rest[..i], e)
            }
            None => (rest, 0),
        };
        let (int, frac) = match mant.find('.') {
            Some(i) => (&mant[..i], &mant[i + 1..]),
            None => (mant, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
        let mut exp = int.len() as i32 + e;
        while digits.first() == Some(&0) {
            digits.remove(0);
            exp -= 1;
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            return Ok(Num::zero());
        }
        let n = Num { neg, digits, exp };
        n.check()?;
        Ok(n)
    }

    /// AWS's precision and range limits.
    pub fn check(&self) -> Result<(), String> {
        if self.digits.len() > 38 {
            return Err("Attempting to store more than 38 significant digits in a Number".into());
        }
        if !self.is_zero() {
            if self.exp > 126 {
                return Err("Number overflow. Attempting to store a number with magnitude larger than supported range".into());
            }
            if self.exp < -129 {
                return Err("Number underflow. Attempting to store a number with magnitude smaller than supported range".into());
            }
        }
        Ok(())
    }

    fn cmp_abs(&self, other: &Num) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        self.exp
            .cmp(&other.exp)
            .then_with(|| self.digits.cmp(&other.digits))
    }

    pub fn negate(&self) -> Num {
        let mut n = self.clone();
        if !n.is_zero() {
            n.neg = !n.neg;
        }
        n
    }

    /// Exact sum (the caller checks the result's limits).
    pub fn add(&self, other: &Num) -> Num {
        if self.is_zero() {
            return other.clone();
        }
        if other.is_zero() {
            return self.clone();
        }
        // As integers scaled by 10^low.
        let low = (self.exp - self.digits.len() as i32).min(other.exp - other.digits.len() as i32);
        let high = self.exp.max(other.exp) + 1;
        let width = (high - low) as usize;
        let place = |n: &Num| -> Vec<u8> {
            // Little-endian digits of width `width`.
            let mut v = vec![0u8; width];
            for (i, d) in n.digits.iter().enumerate() {
                let pos = (n.exp - 1 - i as i32 - low) as usize;
                v[pos] = *d;
            }
            v
        };
        let (a, b) = (place(self), place(other));
        let (neg, mut out) = if self.neg == other.neg {
            let mut out = vec![0u8; width];
            let mut carry = 0;
            for i in 0..width {
                let s = a[i] + b[i] + carry;
                out[i] = s % 10;
                carry = s / 10;
            }
            (self.neg, out)
        } else {
            let (big, small, neg) = if self.cmp_abs(other) != Ordering::Less {
                (&a, &b, self.neg)
            } else {
                (&b, &a, other.neg)
            };
            let mut out = vec![0u8; width];
            let mut borrow = 0i8;
            for i in 0..width {
                let mut d = big[i] as i8 - small[i] as i8 - borrow;
                borrow = 0;
                if d < 0 {
                    d += 10;
                    borrow = 1;
                }
                out[i] = d as u8;
            }
            (neg, out)
        };
        // Big-endian, then normalise.
        out.reverse();
        let mut exp = high;
        while out.first() == Some(&0) {
            out.remove(0);
            exp -= 1;
        }
        while out.last() == Some(&0) {
            out.pop();
        }
        if out.is_empty() {
            return Num::zero();
        }
        Num {
            neg,
            digits: out,
            exp,
        }
    }

    pub fn sub(&self, other: &Num) -> Num {
        self.add(&other.negate())
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Num) -> Ordering {
        let sign = |n: &Num| {
            if n.is_zero() {
                0
            } else if n.neg {
                -1
            } else {
                1
            }
        };
        match sign(self).cmp(&sign(other)) {
            Ordering::Equal => {}
            o => return o,
        }
        let abs = self.cmp_abs(other);
        if self.neg { abs.reverse() } else { abs }
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Num) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        let ds: String = self.digits.iter().map(|d| (b'0' + d) as char).collect();
        let len = ds.len() as i32;
        if self.exp <= 0 {
            s.push_str("0.");
            s.push_str(&"0".repeat((-self.exp) as usize));
            s.push_str(&ds);
        } else if self.exp >= len {
            s.push_str(&ds);
            s.push_str(&"0".repeat((self.exp - len) as usize));
        } else {
            s.push_str(&ds[..self.exp as usize]);
            s.push('.');
            s.push_str(&ds[self.exp as usize..]);
        }
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Num {
        Num::parse(s).unwrap()
    }

    #[test]
    fn parses_and_normalises() {
        assert_eq!(n("1.50").to_string(), "1.5");
        assert_eq!(n("001").to_string(), "1");
        assert_eq!(n("1e2").to_string(), "100");
        assert_eq!(n("-0.0012").to_string(), "-0.0012");
        assert_eq!(n("-0").to_string(), "0");
        assert_eq!(n(".5").to_string(), "0.5");
        assert!(Num::parse("abc").is_err());
        assert!(Num::parse("").is_err());
        assert!(Num::parse("1.2.3").is_err());
    }

    #[test]
    fn keeps_38_digits_and_refuses_39() {
        let s = "12345678901234567890123456789012345678";
        assert_eq!(n(s).to_string(), s);
        assert!(
            Num::parse("123456789012345678901234567890123456789")
                .unwrap_err()
                .contains("38")
        );
        assert!(Num::parse("1e126").unwrap_err().contains("overflow"));
        assert!(Num::parse("1e-131").unwrap_err().contains("underflow"));
        assert!(Num::parse("1e125").is_ok());
        assert!(Num::parse("1e-130").is_ok());
    }

    #[test]
    fn adds_and_subtracts_exactly() {
        assert_eq!(n("0.1").add(&n("0.2")).to_string(), "0.3");
        assert_eq!(n("999").add(&n("1")).to_string(), "1000");
        assert_eq!(n("5").sub(&n("7")).to_string(), "-2");
        assert_eq!(n("-5").sub(&n("-5")).to_string(), "0");
        assert_eq!(n("1e20").add(&n("1")).to_string(), "100000000000000000001");
        assert_eq!(n("-1.25").add(&n("0.25")).to_string(), "-1");
        assert_eq!(
            n("12345678901234567890123456789012345678")
                .add(&n("1"))
                .to_string(),
            "12345678901234567890123456789012345679"
        );
    }

    #[test]
    fn orders_numerically() {
        let mut v: Vec<Num> = ["10", "-1", "2", "-10", "0", "1.5", "-1.5", "0.001"]
            .iter()
            .map(|s| n(s))
            .collect();
        v.sort();
        let s: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        assert_eq!(s, ["-10", "-1.5", "-1", "0", "0.001", "1.5", "2", "10"]);
    }
}
