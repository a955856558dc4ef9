//! Human-readable sizes, as `dmg` and `daos` accept them.
//!
//! DAOS's Go tools parse sizes with go-humanize: `K`, `M`, `G`, `T`, `P` (and `KB`…) are
//! powers of 1000, `Ki`, `Mi`, `Gi`, `Ti`, `Pi` (and `KiB`…) are powers of 1024, and a bare
//! number (or a `B` suffix) is bytes. We follow the same rules so scripts carry over.

use crate::der::Der;
use crate::error::{Error, Result};

/// Parses `"16G"`, `"1.5TiB"`, `"4096"`, `"512 MB"` into bytes.
///
/// Errors: `-DER_INVAL` for an empty, negative, unknown-suffix or overflowing value.
pub fn parse_size(text: &str) -> Result<u64> {
    let bad = || Error::new(Der::Inval, format!("invalid size {text:?}"));
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, suffix) = trimmed.split_at(split);
    if number.is_empty() {
        return Err(bad());
    }
    let multiplier: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "p" | "pb" => 1_000_000_000_000_000,
        "ki" | "kib" => 1 << 10,
        "mi" | "mib" => 1 << 20,
        "gi" | "gib" => 1 << 30,
        "ti" | "tib" => 1 << 40,
        "pi" | "pib" => 1 << 50,
        _ => return Err(bad()),
    };
    if let Ok(whole) = number.parse::<u64>() {
        return whole.checked_mul(multiplier).ok_or_else(bad);
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let bytes = value * multiplier as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes.round() as u64)
}

/// Formats bytes the way `dmg` prints them (`"16 GB"`, `"1.2 TB"`).
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if value >= 100.0 || (value - value.round()).abs() < 0.05 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_humanize() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("16G").unwrap(), 16_000_000_000);
        assert_eq!(parse_size("16GiB").unwrap(), 16 << 30);
        assert_eq!(parse_size("1.5T").unwrap(), 1_500_000_000_000);
        assert_eq!(parse_size("64K").unwrap(), 64_000);
        assert_eq!(parse_size("512 MB").unwrap(), 512_000_000);
        for bad in ["", "G", "-1G", "12Q", "99999999999999999999P"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_round_numbers() {
        assert_eq!(format_size(16_000_000_000), "16 GB");
        assert_eq!(format_size(1_234_000_000), "1.2 GB");
        assert_eq!(format_size(12), "12 B");
    }
}
