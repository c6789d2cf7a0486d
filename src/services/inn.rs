//! ИНН (taxpayer number) validation: 10 digits for organisations, 12 for individuals, each with
//! its check digits.

const W10: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const W11: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const W12: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

fn check_digit(digits: &[u32], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>() % 11 % 10
}

/// Whether `inn` is a valid ИНН: 10 or 12 digits whose check digits match.
pub fn is_valid(inn: &str) -> bool {
    if !inn.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let d: Vec<u32> = inn.bytes().map(|b| u32::from(b - b'0')).collect();
    match d.len() {
        10 => check_digit(&d[..9], &W10) == d[9],
        12 => check_digit(&d[..10], &W11) == d[10] && check_digit(&d[..11], &W12) == d[11],
        _ => false,
    }
}

/// Whether a text looks like someone typed an ИНН (10 or 12 digits, spaces allowed), valid or
/// not; returns the digits.
pub fn looks_like(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (matches!(digits.len(), 10 | 12) && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers() {
        assert!(is_valid("7707083893")); // Сбербанк
        assert!(is_valid("7736207543")); // Яндекс
        assert!(is_valid("500100732259")); // a valid 12-digit example
        assert!(!is_valid("7707083894"));
        assert!(!is_valid("500100732250"));
        assert!(!is_valid("123"));
        assert!(!is_valid("77070838a3"));
    }

    #[test]
    fn typed_numbers_are_recognised() {
        assert_eq!(looks_like(" 7707 083 893 ").as_deref(), Some("7707083893"));
        assert_eq!(looks_like("hello"), None);
        assert_eq!(looks_like("12345"), None);
    }
}
