//! Python ints of any size, as read from `INT`, `LONG`, `LONG1` and `LONG4`.

use std::fmt;

/// Python refuses to convert ints of more digits than this to text (`sys.int_info`'s
/// `default_max_str_digits`); we refuse to read them at all, which also bounds the work.
const MAX_DIGITS: usize = 4300;

/// A `LONG1`/`LONG4` payload longer than this holds more than [`MAX_DIGITS`] digits.
const MAX_BYTES: usize = 1800;

/// A Python int: the machine integer when it fits, else its decimal digits with a `-` if negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Int {
    Small(i128),
    Big(String),
}

impl Int {
    /// Reads the little-endian two's-complement bytes of `LONG1`/`LONG4` (empty means 0).
    pub(super) fn from_le_bytes(bytes: &[u8]) -> Result<Self, String> {
        let Some(&last) = bytes.last() else {
            return Ok(Self::Small(0));
        };
        let negative = last & 0x80 != 0;
        if bytes.len() <= 16 {
            let mut buf = [if negative { 0xff } else { 0 }; 16];
            buf[..bytes.len()].copy_from_slice(bytes);
            return Ok(Self::Small(i128::from_le_bytes(buf)));
        }
        if bytes.len() > MAX_BYTES {
            return Err(too_many_digits());
        }
        let mut magnitude = bytes.to_vec();
        if negative {
            // Two's complement: invert and add one.
            let mut carry = true;
            for byte in &mut magnitude {
                *byte = !*byte;
                if carry {
                    let (sum, overflow) = byte.overflowing_add(1);
                    *byte = sum;
                    carry = overflow;
                }
            }
        }
        Self::from_digits(negative, &decimal_digits(&magnitude))
    }

    /// Reads the decimal text of the protocol 0 `INT` and `LONG` opcodes: an optional sign and
    /// digits, with surrounding ASCII whitespace as Python's `int()` allows.
    pub(super) fn parse_decimal(text: &[u8]) -> Result<Self, String> {
        let text = text.trim_ascii();
        let (negative, digits) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            _ => (false, text),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(format!(
                "invalid integer literal {:?}",
                String::from_utf8_lossy(text)
            ));
        }
        Self::from_digits(negative, digits)
    }

    /// Builds an int from ASCII decimal `digits` (leading zeros allowed).
    fn from_digits(negative: bool, digits: &[u8]) -> Result<Self, String> {
        let start = digits
            .iter()
            .position(|&d| d != b'0')
            .unwrap_or(digits.len());
        let digits = &digits[start..];
        if digits.len() > MAX_DIGITS {
            return Err(too_many_digits());
        }
        let mut text = String::with_capacity(digits.len() + 1);
        if negative && !digits.is_empty() {
            text.push('-');
        }
        text.extend(digits.iter().map(|&d| char::from(d)));
        if digits.is_empty() {
            return Ok(Self::Small(0));
        }
        Ok(match text.parse::<i128>() {
            Ok(small) => Self::Small(small),
            Err(_) => Self::Big(text),
        })
    }

    /// The JSON form: a number when it fits `i64` or `u64`, else a string of its digits,
    /// because `serde_json` numbers (without `arbitrary_precision`) cannot hold more.
    pub(super) fn to_json(&self) -> serde_json::Value {
        if let Self::Small(value) = *self {
            if let Ok(value) = i64::try_from(value) {
                return value.into();
            }
            if let Ok(value) = u64::try_from(value) {
                return value.into();
            }
        }
        serde_json::Value::String(self.to_string())
    }
}

impl fmt::Display for Int {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Small(value) => value.fmt(f),
            Self::Big(digits) => f.write_str(digits),
        }
    }
}

fn too_many_digits() -> String {
    format!("integer has more than {MAX_DIGITS} decimal digits")
}

/// The ASCII decimal digits of the unsigned little-endian `magnitude` (schoolbook division by
/// 10^9; inputs are at most [`MAX_BYTES`] long).
fn decimal_digits(magnitude: &[u8]) -> Vec<u8> {
    const BASE: u64 = 1_000_000_000;
    // Little-endian 32-bit limbs.
    let mut limbs: Vec<u32> = magnitude
        .chunks(4)
        .map(|chunk| {
            let mut buf = [0u8; 4];
            buf[..chunk.len()].copy_from_slice(chunk);
            u32::from_le_bytes(buf)
        })
        .collect();
    let mut chunks = Vec::new();
    loop {
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
        if limbs.is_empty() {
            break;
        }
        let mut remainder = 0u64;
        for limb in limbs.iter_mut().rev() {
            let current = (remainder << 32) | u64::from(*limb);
            // current < BASE << 32, so the quotient fits in u32.
            *limb = u32::try_from(current / BASE).unwrap_or(u32::MAX);
            remainder = current % BASE;
        }
        chunks.push(remainder);
    }
    let mut digits = String::new();
    for (i, chunk) in chunks.iter().rev().enumerate() {
        if i == 0 {
            digits.push_str(&chunk.to_string());
        } else {
            digits.push_str(&format!("{chunk:09}"));
        }
    }
    if digits.is_empty() {
        digits.push('0');
    }
    digits.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_bytes_of_any_length() {
        assert_eq!(Int::from_le_bytes(&[]).unwrap(), Int::Small(0));
        assert_eq!(Int::from_le_bytes(&[0xff]).unwrap(), Int::Small(-1));
        assert_eq!(Int::from_le_bytes(&[0x80]).unwrap(), Int::Small(-128));
        // 2**64 and -(2**64) in 9 bytes.
        let mut two_64 = [0u8; 9];
        two_64[8] = 1;
        assert_eq!(Int::from_le_bytes(&two_64).unwrap(), Int::Small(1 << 64));
        // 2**128 needs 17 bytes.
        let mut two_128 = [0u8; 17];
        two_128[16] = 1;
        let big = Int::from_le_bytes(&two_128).unwrap();
        assert_eq!(big.to_string(), "340282366920938463463374607431768211456");
        // -(2**128) is 00 * 16 + ff.
        let mut minus = [0u8; 17];
        minus[16] = 0xff;
        assert_eq!(
            Int::from_le_bytes(&minus).unwrap().to_string(),
            "-340282366920938463463374607431768211456"
        );
        // A non-minimal encoding of 5 still reads as 5.
        let mut five = [0u8; 20];
        five[0] = 5;
        assert_eq!(Int::from_le_bytes(&five).unwrap(), Int::Small(5));
        assert!(Int::from_le_bytes(&[1u8; MAX_BYTES + 1]).is_err());
    }

    #[test]
    fn decimal_text() {
        assert_eq!(Int::parse_decimal(b"42").unwrap(), Int::Small(42));
        assert_eq!(Int::parse_decimal(b" -7\n").unwrap(), Int::Small(-7));
        assert_eq!(Int::parse_decimal(b"-0").unwrap(), Int::Small(0));
        let big = "123456789012345678901234567890123456789012345";
        assert_eq!(
            Int::parse_decimal(big.as_bytes()).unwrap(),
            Int::Big(big.into())
        );
        assert!(Int::parse_decimal(b"").is_err());
        assert!(Int::parse_decimal(b"12a").is_err());
        assert!(Int::parse_decimal("9".repeat(4301).as_bytes()).is_err());
        assert!(Int::parse_decimal("9".repeat(4300).as_bytes()).is_ok());
    }

    #[test]
    fn json_form() {
        assert_eq!(Int::Small(-1).to_json(), serde_json::json!(-1));
        assert_eq!(
            Int::Small(u64::MAX.into()).to_json(),
            serde_json::json!(u64::MAX)
        );
        assert_eq!(
            Int::Small(1 << 64).to_json(),
            serde_json::json!("18446744073709551616")
        );
        assert_eq!(
            Int::Small(i128::from(i64::MIN) - 1).to_json(),
            serde_json::json!("-9223372036854775809")
        );
    }
}
