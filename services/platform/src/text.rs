//! The one rule for text a person types (names, notes, reasons, free text, FHIR strings),
//! in every service and on every channel. Pure.
//!
//! - Unicode is normalised to NFC, and leading and trailing white space is trimmed; what is
//!   left empty counts as absent (web forms send blanks for empty fields).
//! - Refused anywhere: control characters (Unicode `Cc`: NUL, escape, ...), the
//!   bidirectional embedding, override and isolate controls (U+202A-U+202E,
//!   U+2066-U+2069, which make text read differently from how it is stored) and
//!   noncharacters. A multi-line text may hold newlines and tabs; a carriage return is
//!   kept only as part of `\r\n`, which becomes `\n`.
//! - A name must hold a visible letter (an alphabetic character), so that a name of only
//!   zero-width spaces or punctuation is refused.
//! - Lengths are counted in characters after normalisation.
//!
//! Refusals name the rule and never the value: the value may be a name or an NHS number.
//! [`Text::pattern`] is the same rule for OpenAPI documents.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// What kind of text a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A person's or an organisation's name: one line, with a visible letter.
    Name,
    /// One line: a reason, a title, a display text, a code.
    Line,
    /// Free text: notes, needs in the referrer's words. Newlines and tabs allowed.
    MultiLine,
}

/// A text field's rule: its kind and the most characters it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub kind: Kind,
    pub max_chars: usize,
}

/// Why a text was refused. [`TextError::rule`] is the stable name for machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    /// A control, bidirectional-control or noncharacter (or a newline in one-line text).
    ControlCharacter,
    /// A name without any letter.
    NoVisibleLetter,
    TooLong {
        max_chars: usize,
    },
}

impl TextError {
    pub fn rule(&self) -> &'static str {
        match self {
            TextError::ControlCharacter => rule::CONTROL_CHARACTER,
            TextError::NoVisibleLetter => rule::VISIBLE_LETTER,
            TextError::TooLong { .. } => rule::MAX_LENGTH,
        }
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::ControlCharacter => f.write_str(
                "must not contain control characters (only newlines and tabs, in multi-line text)",
            ),
            TextError::NoVisibleLetter => f.write_str("must contain a letter"),
            TextError::TooLong { max_chars } => {
                write!(f, "must be at most {max_chars} characters")
            }
        }
    }
}

impl std::error::Error for TextError {}

/// The rule names a [`TextError`] can carry.
pub mod rule {
    pub const CONTROL_CHARACTER: &str = "control_character";
    pub const VISIBLE_LETTER: &str = "visible_letter";
    pub const MAX_LENGTH: &str = "max_length";
}

impl Text {
    pub const fn name(max_chars: usize) -> Text {
        Text {
            kind: Kind::Name,
            max_chars,
        }
    }

    pub const fn line(max_chars: usize) -> Text {
        Text {
            kind: Kind::Line,
            max_chars,
        }
    }

    pub const fn multi_line(max_chars: usize) -> Text {
        Text {
            kind: Kind::MultiLine,
            max_chars,
        }
    }

    /// The text as it will be kept: `Ok(None)` when it is empty after trimming.
    pub fn clean(&self, raw: &str) -> Result<Option<String>, TextError> {
        let joined;
        let raw = if self.kind == Kind::MultiLine && raw.contains('\r') {
            joined = raw.replace("\r\n", "\n");
            joined.as_str()
        } else {
            raw
        };
        let normal: String = raw.nfc().collect();
        let kept = normal.trim();
        if kept.is_empty() {
            return Ok(None);
        }
        let mut chars = 0usize;
        let mut letter = false;
        for c in kept.chars() {
            if !self.allows(c) {
                return Err(TextError::ControlCharacter);
            }
            letter |= c.is_alphabetic();
            chars += 1;
        }
        if self.kind == Kind::Name && !letter {
            return Err(TextError::NoVisibleLetter);
        }
        if chars > self.max_chars {
            return Err(TextError::TooLong {
                max_chars: self.max_chars,
            });
        }
        Ok(Some(kept.to_owned()))
    }

    fn allows(&self, c: char) -> bool {
        let multi = self.kind == Kind::MultiLine;
        match c {
            '\n' | '\t' => multi,
            c if c.is_control() => false,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => false,
            '\u{FDD0}'..='\u{FDEF}' => false,
            c if (c as u32) & 0xFFFE == 0xFFFE => false,
            _ => true,
        }
    }

    /// The same rule as an ECMA-262 regular expression for an OpenAPI `pattern` (length is
    /// `maxLength`; the visible-letter rule of names is in the description, as a pattern
    /// cannot say "a letter" the same way in every regex dialect).
    pub fn pattern(&self) -> &'static str {
        match self.kind {
            Kind::MultiLine => MULTI_LINE_PATTERN,
            Kind::Name | Kind::Line => LINE_PATTERN,
        }
    }
}

/// No control characters, bidi controls or noncharacters.
const LINE_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\uFDD0-\\uFDEF\\uFFFE\\uFFFF]*$";
/// As [`LINE_PATTERN`], but newlines, tabs and `\r\n` are allowed.
const MULTI_LINE_PATTERN: &str = "^(?:[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\uFDD0-\\uFDEF\\uFFFE\\uFFFF]|\\r\\n)*$";

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NAME: Text = Text::name(100);
    const LINE: Text = Text::line(200);
    const NOTES: Text = Text::multi_line(4000);

    #[test]
    fn a_nul_or_other_control_character_is_refused_in_every_kind() {
        for text in [NAME, LINE, NOTES] {
            for bad in ["Ro\0bin", "Robin\u{1b}[31m", "a\u{7f}b", "a\u{85}b"] {
                assert_eq!(
                    text.clean(bad),
                    Err(TextError::ControlCharacter),
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn bidi_controls_and_noncharacters_are_refused() {
        for bad in [
            "abc\u{202E}def",
            "a\u{2066}b",
            "a\u{FFFF}",
            "a\u{1FFFE}",
            "a\u{FDD0}",
        ] {
            assert_eq!(LINE.clean(bad), Err(TextError::ControlCharacter));
        }
    }

    #[test]
    fn newlines_and_tabs_only_in_multi_line_text() {
        assert_eq!(
            NOTES.clean("line one\r\n\tline two\n").unwrap().as_deref(),
            Some("line one\n\tline two")
        );
        assert_eq!(LINE.clean("one\ntwo"), Err(TextError::ControlCharacter));
        assert_eq!(NAME.clean("Ro\tbin"), Err(TextError::ControlCharacter));
        assert_eq!(NOTES.clean("a\rb"), Err(TextError::ControlCharacter));
    }

    #[test]
    fn a_name_of_zero_width_spaces_or_punctuation_has_no_visible_letter() {
        for bad in ["\u{200B}\u{200B}", "\u{FEFF}", "---", "12", "\u{2060}."] {
            assert_eq!(NAME.clean(bad), Err(TextError::NoVisibleLetter), "{bad:?}");
        }
        for good in ["Ōkawa", "Zoë", "O'Neil-Smith", "আমিনা", "李"] {
            assert!(NAME.clean(good).unwrap().is_some(), "{good}");
        }
    }

    #[test]
    fn text_is_trimmed_normalised_and_blank_is_absent() {
        assert_eq!(NAME.clean("  \t "), Ok(None));
        // "e" + combining acute becomes one precomposed character.
        assert_eq!(
            NAME.clean(" Zoe\u{301} ").unwrap().as_deref(),
            Some("Zo\u{e9}")
        );
    }

    #[test]
    fn length_is_counted_in_characters_after_normalisation() {
        let text = Text::name(3);
        assert_eq!(
            text.clean("e\u{301}e\u{301}e\u{301}").unwrap().as_deref(),
            Some("\u{e9}\u{e9}\u{e9}")
        );
        assert_eq!(text.clean("abcd"), Err(TextError::TooLong { max_chars: 3 }));
    }

    #[test]
    fn refusals_say_the_rule_and_never_the_value() {
        let e = NAME.clean("9434765919\0").unwrap_err();
        assert_eq!(e.rule(), "control_character");
        assert!(!e.to_string().contains("9434765919"));
    }

    proptest! {
        /// Whatever is kept can be stored: no NUL (PostgreSQL text and jsonb refuse it), no
        /// other control outside multi-line whitespace, already NFC, within its length.
        #[test]
        fn whatever_is_kept_is_storable(raw in any::<String>(), kind in 0..3u8, max in 1..50usize) {
            let text = Text { kind: [Kind::Name, Kind::Line, Kind::MultiLine][kind as usize], max_chars: max };
            if let Ok(Some(kept)) = text.clean(&raw) {
                prop_assert!(!kept.contains('\0'));
                prop_assert!(kept.chars().all(|c| !c.is_control() || (text.kind == Kind::MultiLine && (c == '\n' || c == '\t'))));
                prop_assert_eq!(kept.nfc().collect::<String>(), kept.clone());
                prop_assert!(kept.chars().count() <= max);
                prop_assert_eq!(text.clean(&kept), Ok(Some(kept.clone())), "cleaning is idempotent");
            }
        }
    }
}
