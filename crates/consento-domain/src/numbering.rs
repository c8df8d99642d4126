//! Whether a phone number can be dialled: the ITU-T E.164 structure of an international number
//! (a country calling code of 1 to 3 digits, then the national significant number, at most 15
//! digits in all, E.164 §6.1), each assigned country calling code with the lengths its national
//! numbers can have, and the Italian numbering plan's ranges in detail.
//!
//! The country calling codes in use, and per code the shortest and the longest national
//! significant number of any kind (fixed, mobile, toll-free…) among the countries sharing it, are
//! taken from libphonenumber's metadata (Apache-2.0), which follows the ITU's list of assigned
//! E.164 country codes and the national plans; the North American Numbering Plan (+1) has
//! exactly ten digits. The table is small and pure, so the check costs
//! nothing on a hot path such as an import.

/// `(country calling code, fewest digits, most digits of the national significant number)`,
/// sorted by code. Country calling codes are a prefix code (E.164 §6.2.1): no code is the start
/// of another, so a number names at most one.
#[rustfmt::skip]
const PLAN: &[(u16, u8, u8)] = &[
    (1, 10, 10), (7, 10, 14), (20, 8, 10), (27, 5, 10), (30, 10, 12), (31, 5, 11), (32, 8, 9),
    (33, 9, 9), (34, 9, 9), (36, 8, 9), (39, 6, 12), (40, 6, 9), (41, 9, 12), (43, 4, 13),
    (44, 7, 10), (45, 8, 8), (46, 6, 12), (47, 5, 8), (48, 6, 10), (49, 4, 13), (51, 8, 9),
    (52, 10, 10), (53, 6, 10), (54, 10, 11), (55, 8, 11), (56, 9, 11), (57, 8, 11), (58, 10, 10),
    (60, 8, 10), (61, 5, 12), (62, 7, 13), (63, 6, 13), (64, 5, 10), (65, 8, 11), (66, 8, 13),
    (81, 8, 13), (82, 5, 13), (84, 7, 10), (86, 7, 12), (90, 7, 13), (91, 8, 13), (92, 8, 12),
    (93, 9, 9), (94, 9, 9), (95, 6, 10), (98, 4, 10), (211, 9, 9), (212, 9, 9), (213, 8, 9),
    (216, 8, 8), (218, 9, 9), (220, 7, 7), (221, 9, 9), (222, 8, 8), (223, 8, 8), (224, 8, 9),
    (225, 10, 10), (226, 8, 8), (227, 8, 8), (228, 8, 8), (229, 8, 10), (230, 7, 10), (231, 7, 9),
    (232, 8, 8), (233, 8, 9), (234, 10, 12), (235, 8, 8), (236, 8, 8), (237, 8, 9), (238, 7, 7),
    (239, 7, 7), (240, 9, 9), (241, 7, 8), (242, 9, 9), (243, 7, 10), (244, 9, 9), (245, 7, 9),
    (246, 7, 7), (247, 5, 6), (248, 7, 7), (249, 9, 9), (250, 8, 9), (251, 9, 9), (252, 6, 9),
    (253, 8, 8), (254, 7, 10), (255, 9, 9), (256, 9, 9), (257, 8, 8), (258, 8, 9), (260, 9, 9),
    (261, 9, 9), (262, 9, 9), (263, 5, 10), (264, 8, 9), (265, 7, 9), (266, 8, 8), (267, 7, 10),
    (268, 8, 9), (269, 7, 7), (290, 4, 5), (291, 7, 7), (297, 7, 7), (298, 6, 6), (299, 6, 6),
    (350, 8, 8), (351, 9, 9), (352, 4, 11), (353, 7, 10), (354, 7, 9), (355, 6, 9), (356, 8, 8),
    (357, 8, 8), (358, 5, 12), (359, 6, 12), (370, 8, 8), (371, 8, 8), (372, 7, 10), (373, 8, 8),
    (374, 8, 8), (375, 6, 11), (376, 6, 9), (377, 8, 9), (378, 8, 10), (380, 9, 10), (381, 6, 12),
    (382, 8, 9), (383, 8, 12), (385, 7, 9), (386, 5, 8), (387, 8, 9), (389, 8, 8), (420, 9, 12),
    (421, 6, 9), (423, 7, 9), (500, 5, 5), (501, 7, 11), (502, 8, 11), (503, 7, 11), (504, 8, 11),
    (505, 8, 8), (506, 8, 10), (507, 7, 11), (508, 6, 9), (509, 8, 8), (590, 9, 9), (591, 8, 9),
    (592, 7, 7), (593, 8, 11), (594, 9, 9), (595, 6, 11), (596, 9, 9), (597, 6, 7), (598, 4, 12),
    (599, 7, 8), (670, 7, 8), (672, 6, 6), (673, 7, 7), (674, 7, 7), (675, 7, 8), (676, 5, 7),
    (677, 5, 7), (678, 5, 7), (679, 7, 11), (680, 7, 7), (681, 6, 9), (682, 5, 5), (683, 4, 7),
    (685, 5, 10), (686, 5, 8), (687, 6, 6), (688, 5, 7), (689, 6, 9), (690, 4, 7), (691, 7, 7),
    (692, 7, 7), (800, 8, 8), (808, 8, 8), (850, 8, 10), (852, 5, 11), (853, 7, 8), (855, 8, 10),
    (856, 8, 10), (870, 9, 12), (878, 12, 12), (880, 6, 10), (881, 9, 10), (882, 7, 12),
    (883, 8, 12), (886, 7, 11), (888, 11, 11), (960, 7, 10), (961, 7, 8), (962, 8, 9), (963, 8, 9),
    (964, 8, 10), (965, 7, 8), (966, 9, 10), (967, 7, 9), (968, 7, 9), (970, 8, 10), (971, 5, 12),
    (972, 7, 12), (973, 8, 8), (974, 7, 11), (975, 7, 8), (976, 8, 10), (977, 8, 11), (979, 9, 9),
    (992, 9, 9), (993, 8, 8), (994, 9, 9), (995, 9, 9), (996, 9, 10), (998, 9, 9),
];

/// Why a number in international form cannot be dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undialable {
    /// More than the 15 digits E.164 §6.1 allows.
    TooLong,
    /// No assigned country calling code starts the number.
    UnknownCountryCode,
    /// The national number is shorter than any of the country's (the fewest digits it can have).
    TooShort(u8),
    /// The national number is longer than any of the country's (the most digits it can have).
    TooLongForCountry(u8),
    /// The national number starts with digits the country's plan assigns to no dialable range.
    UnassignedRange,
}

impl std::fmt::Display for Undialable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLong => f.write_str("has more than the 15 digits of an international number"),
            Self::UnknownCountryCode => f.write_str("does not start with an assigned country code"),
            Self::TooShort(min) => write!(
                f,
                "is too short: the country's numbers have at least {min} digits after the country code"
            ),
            Self::TooLongForCountry(max) => write!(
                f,
                "is too long: the country's numbers have at most {max} digits after the country code"
            ),
            Self::UnassignedRange => {
                f.write_str("is not in a range of the country's numbering plan")
            }
        }
    }
}

/// Checks the digits of an international number (country calling code first, no `+`): its
/// country calling code is assigned, its national number has a length the country's numbers
/// have, and for Italy (+39) it is in a dialable range. Returns the country calling code.
pub fn check(digits: &str) -> Result<u16, Undialable> {
    if digits.len() > 15 {
        return Err(Undialable::TooLong);
    }
    let (code, min, max) = (1..=3)
        .filter_map(|n| digits.get(..n)?.parse::<u16>().ok())
        .find_map(|code| PLAN.iter().find(|(c, ..)| *c == code).copied())
        .ok_or(Undialable::UnknownCountryCode)?;
    let national = digits.get(code.to_string().len()..).unwrap_or_default();
    let (min, max) = match code {
        39 => italian_range(national).ok_or(Undialable::UnassignedRange)?,
        _ => (min, max),
    };
    let len = national.len();
    if len < usize::from(min) {
        return Err(Undialable::TooShort(min));
    }
    if len > usize::from(max) {
        return Err(Undialable::TooLongForCountry(max));
    }
    Ok(code)
}

/// The lengths of an Italian national significant number by its leading digits (Piano nazionale
/// di numerazione, AGCOM delibera 8/15/CIR): geographic numbers keep their leading 0 and have 6
/// to 11 digits; mobile numbers start with 3 and have 9 or 10; numbers starting with 8 are
/// toll-free, shared-cost or premium (6 to 10); 1 starts personal numbering (178, 199: 9 or 10)
/// and 43, 55 and 70 ten-digit non-geographic services. Anything else (2, 6, 9, and 1x short
/// codes such as 112) is reached from no other country.
fn italian_range(national: &str) -> Option<(u8, u8)> {
    let bytes = national.as_bytes();
    match bytes {
        [b'0', ..] => Some((6, 11)),
        [b'3', ..] => Some((9, 10)),
        [b'8', ..] => Some((6, 10)),
        [b'1', b'7', b'8', ..] | [b'1', b'9', b'9', ..] => Some((9, 10)),
        [b'4', b'3', ..] | [b'5', b'5', ..] | [b'7', b'0', ..] => Some((10, 10)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_sorted_and_prefix_free() {
        assert!(PLAN.windows(2).all(|w| w[0].0 < w[1].0));
        for (a, ..) in PLAN {
            for (b, ..) in PLAN {
                let (a, b) = (a.to_string(), b.to_string());
                assert!(a == b || !b.starts_with(&a), "{a} is a prefix of {b}");
            }
        }
        assert!(
            PLAN.iter()
                .all(|(c, min, max)| min <= max && c.to_string().len() + usize::from(*max) <= 15)
        );
    }

    #[test]
    fn italian_mobiles_and_landlines_are_dialable() {
        assert_eq!(check("393331234567"), Ok(39)); // mobile, 10 digits
        assert_eq!(check("39333123456"), Ok(39)); // older mobile, 9 digits
        assert_eq!(check("390612345678"), Ok(39)); // Rome, leading 0 kept
        assert_eq!(check("39021234567"), Ok(39)); // Milan
        assert_eq!(check("39800123456"), Ok(39)); // toll-free
        assert_eq!(check("390669812345"), Ok(39)); // the Vatican, inside +39 06
    }

    #[test]
    fn italian_numbers_outside_the_plan_are_not() {
        assert_eq!(check("3933312345"), Err(Undialable::TooShort(9))); // mobile, 8 digits
        assert_eq!(
            check("3933312345678"),
            Err(Undialable::TooLongForCountry(10))
        );
        assert_eq!(
            check("39061234567890"),
            Err(Undialable::TooLongForCountry(11))
        );
        assert_eq!(check("39112"), Err(Undialable::UnassignedRange)); // a short code
        assert_eq!(check("392123456789"), Err(Undialable::UnassignedRange));
        assert_eq!(check("39912345678"), Err(Undialable::UnassignedRange));
    }

    #[test]
    fn other_countries_are_checked_by_their_lengths() {
        assert_eq!(check("12025550123"), Ok(1)); // NANP: ten digits
        assert_eq!(check("1202555012"), Err(Undialable::TooShort(10)));
        assert_eq!(check("33612345678"), Ok(33)); // France: nine digits
        assert_eq!(check("3361234567"), Err(Undialable::TooShort(9)));
        assert_eq!(check("447911123456"), Ok(44));
        assert_eq!(check("4930123456"), Ok(49));
    }

    #[test]
    fn unassigned_country_codes_and_sixteen_digits_are_refused() {
        assert_eq!(check("2801234567"), Err(Undialable::UnknownCountryCode)); // +280 spare
        assert_eq!(check("9991234567"), Err(Undialable::UnknownCountryCode)); // +999 reserved
        assert_eq!(check("4912345678901234"), Err(Undialable::TooLong));
    }
}
