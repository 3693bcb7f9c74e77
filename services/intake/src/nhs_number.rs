//! The NHS number check: 10 digits, the last a Modulus 11 check digit over the first nine
//! (weights 10 down to 2; check = 11 - (sum mod 11); 11 means 0; 10 means no valid number).
//! Pure: no I/O.

/// Why a string is not a valid NHS number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NhsNumberError {
    /// Not ten digits (spaces between groups are allowed and ignored).
    #[error("an NHS number is 10 digits")]
    Format,
    /// Ten digits whose last digit is not the Modulus 11 check digit of the first nine.
    #[error("the NHS number's check digit does not match (Modulus 11)")]
    CheckDigit,
}

impl NhsNumberError {
    /// The validation rule name this error reports under.
    pub fn rule(self) -> &'static str {
        match self {
            NhsNumberError::Format => "nhs_number_format",
            NhsNumberError::CheckDigit => "nhs_number_check_digit",
        }
    }
}

/// The Modulus 11 check digit for nine digits, or `None` when no digit fits (remainder 1).
pub fn check_digit(first_nine: &[u8; 9]) -> Option<u8> {
    let sum: u32 = first_nine
        .iter()
        .zip((2..=10u32).rev())
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    match 11 - (sum % 11) {
        11 => Some(0),
        10 => None,
        c => Some(c as u8),
    }
}

/// Parses an NHS number, accepting the usual `943 476 5919` grouping, into its 10 digits.
pub fn parse(input: &str) -> Result<String, NhsNumberError> {
    let compact: String = input.trim().chars().filter(|c| *c != ' ').collect();
    if compact.len() != 10 || !compact.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NhsNumberError::Format);
    }
    // Groups, when present, must be the standard 3-3-4.
    let trimmed = input.trim();
    if trimmed.contains(' ') {
        let groups: Vec<&str> = trimmed.split(' ').collect();
        if groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [3, 3, 4] {
            return Err(NhsNumberError::Format);
        }
    }
    let digits: Vec<u8> = compact.bytes().map(|b| b - b'0').collect();
    let first_nine: [u8; 9] = digits[..9].try_into().expect("ten digits");
    match check_digit(&first_nine) {
        Some(c) if c == digits[9] => Ok(compact),
        _ => Err(NhsNumberError::CheckDigit),
    }
}

/// True when `input` is a valid NHS number.
pub fn is_valid(input: &str) -> bool {
    parse(input).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_valid_numbers_pass() {
        // 943 476 5919 is NHS England's published example; 999 001 2342 is from the test range.
        for n in ["9434765919", "943 476 5919", "9990012342", "4010232137"] {
            assert!(is_valid(n), "{n} should be valid");
        }
    }

    #[test]
    fn wrong_check_digit_is_refused() {
        assert_eq!(parse("9434765918"), Err(NhsNumberError::CheckDigit));
        // The NHS number in the BaRS 999-to-CAS example fixture fails the check too.
        assert_eq!(parse("3478526985"), Err(NhsNumberError::CheckDigit));
    }

    #[test]
    fn remainder_ten_means_no_valid_number() {
        // Eight zeros then 6: sum 12, remainder 1, check 11 - 1 = 10: no digit fits.
        let nine = [0, 0, 0, 0, 0, 0, 0, 0, 6];
        assert_eq!(check_digit(&nine), None);
        for last in 0..=9 {
            assert_eq!(
                parse(&format!("000000006{last}")),
                Err(NhsNumberError::CheckDigit)
            );
        }
    }

    #[test]
    fn remainder_zero_gives_check_digit_zero() {
        // sum 0 -> 11 - 0 = 11 -> 0
        assert_eq!(check_digit(&[0; 9]), Some(0));
        assert!(is_valid("0000000000"));
    }

    #[test]
    fn malformed_input_is_a_format_error() {
        for bad in [
            "",
            "123",
            "94347659190",
            "943476591X",
            "943-476-5919",
            "94 3476 5919",
            "９４３４７６５９１９",
        ] {
            assert_eq!(parse(bad), Err(NhsNumberError::Format), "{bad:?}");
        }
    }

    /// A reference implementation written differently: weights applied by index.
    fn reference_valid(digits: &[u8; 10]) -> bool {
        let mut sum = 0u32;
        for (i, d) in digits.iter().take(9).enumerate() {
            sum += u32::from(*d) * (10 - i as u32);
        }
        let r = sum % 11;
        let check = if r == 0 { 0 } else { 11 - r };
        check != 10 && check == u32::from(digits[9])
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference_on_any_ten_digits(digits in proptest::array::uniform10(0u8..10)) {
            let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assert_eq!(is_valid(&s), reference_valid(&digits));
        }

        #[test]
        fn every_nine_digit_prefix_has_at_most_one_valid_completion(nine in proptest::array::uniform9(0u8..10)) {
            let prefix: String = nine.iter().map(|d| char::from(b'0' + d)).collect();
            let valid: Vec<u8> = (0..10).filter(|c| is_valid(&format!("{prefix}{c}"))).collect();
            prop_assert!(valid.len() <= 1);
            prop_assert_eq!(valid.first().copied(), check_digit(&nine));
        }

        #[test]
        fn changing_one_digit_of_a_valid_number_is_always_caught(
            nine in proptest::array::uniform9(0u8..10), pos in 0usize..10, delta in 1u8..10,
        ) {
            prop_assume!(check_digit(&nine).is_some());
            let mut digits: Vec<u8> = nine.to_vec();
            digits.push(check_digit(&nine).unwrap());
            digits[pos] = (digits[pos] + delta) % 10;
            let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assert!(!is_valid(&s));
        }

        #[test]
        fn grouping_with_spaces_does_not_change_the_answer(digits in proptest::array::uniform10(0u8..10)) {
            let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            let grouped = format!("{} {} {}", &s[..3], &s[3..6], &s[6..]);
            prop_assert_eq!(parse(&s), parse(&grouped));
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = parse(&s);
        }
    }
}
