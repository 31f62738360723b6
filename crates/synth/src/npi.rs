//! National Provider Identifiers: ten digits whose last is a Luhn check digit computed over the
//! prefix 80840 and the first nine digits (CMS, "Requirements for NPI check digit").

/// The check digit of a nine-digit NPI body.
pub fn check_digit(body: &[u8; 9]) -> u8 {
    // "80840" contributes 24 to the Luhn sum; then every other digit from the right of the body
    // is doubled, starting with the rightmost.
    let mut sum = 24u32;
    for (i, d) in body.iter().rev().enumerate() {
        let d = *d as u32;
        sum += if i % 2 == 0 {
            let x = d * 2;
            x / 10 + x % 10
        } else {
            d
        };
    }
    ((10 - sum % 10) % 10) as u8
}

/// Whether a string is a well-formed NPI with a valid check digit.
pub fn is_valid(npi: &str) -> bool {
    let b = npi.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut body = [0u8; 9];
    for (i, d) in b[..9].iter().enumerate() {
        body[i] = d - b'0';
    }
    check_digit(&body) == b[9] - b'0'
}

/// The NPI with body `n` (a number of at most nine digits, first digit 1 or 2 in real NPIs).
pub fn from_body(n: u32) -> String {
    let text = format!("{n:09}");
    let mut body = [0u8; 9];
    for (i, d) in text.bytes().enumerate() {
        body[i] = d - b'0';
    }
    format!("{text}{}", check_digit(&body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cms_example_npi_checks_and_a_changed_digit_does_not() {
        assert!(is_valid("1234567893"));
        assert!(!is_valid("1234567894"));
        assert!(!is_valid("123456789"));
        assert_eq!(from_body(123_456_789), "1234567893");
    }
}
