//! User codes (RFC 8628 §6.1): eight letters from the twenty consonants that are hard to
//! mistake for one another and spell no words, shown as `XXXX-XXXX`: about 34.5 bits, which
//! the verification page's rate limit turns into a search nobody finishes before the codes
//! expire. Typed back in any case, with or without the dash or spaces.

use crate::crypto;

/// §6.1's base-20 alphabet: no vowels (no words), none of the letters that look alike.
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a code.
pub const LEN: usize = 8;

/// A new user code, normalized (eight letters, no dash): uniform over the alphabet, drawn by
/// rejection so that no letter is likelier than another.
pub fn generate() -> String {
    let mut code = String::with_capacity(LEN);
    while code.len() < LEN {
        for byte in crypto::random_bytes::<16>() {
            // 240 = 12 × 20: the bytes at or above it would favour the first letters.
            if byte < 240 && code.len() < LEN {
                code.push(char::from(ALPHABET[usize::from(byte % 20)]));
            }
        }
    }
    code
}

/// `XXXX-XXXX`, as the device shows it.
pub fn display(code: &str) -> String {
    let (first, second) = code.split_at(code.len().min(LEN / 2));
    format!("{first}-{second}")
}

/// What the user typed, normalized as [`generate`] makes codes: letters upper-cased, dashes
/// and spaces dropped. `None` if it cannot be a code (another character, or not eight letters).
pub fn normalize(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// What is stored: the normalized code's SHA-256.
pub fn hash(normalized: &str) -> String {
    crypto::sha256_hex(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_letters_of_the_alphabet_and_typed_back_any_way() {
        let code = generate();
        assert_eq!(code.len(), LEN);
        assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
        let shown = display(&code);
        assert_eq!(shown.len(), LEN + 1);
        assert_eq!(normalize(&shown).as_deref(), Some(code.as_str()));
        assert_eq!(
            normalize(&format!(" {} ", shown.to_lowercase())).as_deref(),
            Some(code.as_str())
        );
        assert_eq!(normalize("BCDF GHJK").as_deref(), Some("BCDFGHJK"));
        for wrong in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "ABCD-EFGH",
            "BCDF-GHJ1",
            "BCDF_GHJK",
        ] {
            assert_eq!(normalize(wrong), None, "{wrong}");
        }
        assert_eq!(normalize(&"B".repeat(100)), None);
    }

    #[test]
    fn every_letter_is_drawn() {
        let mut seen = [false; 20];
        for _ in 0..200 {
            for b in generate().bytes() {
                let at = ALPHABET.iter().position(|&a| a == b).unwrap();
                seen[at] = true;
            }
        }
        assert!(seen.iter().all(|&s| s), "{seen:?}");
    }
}
