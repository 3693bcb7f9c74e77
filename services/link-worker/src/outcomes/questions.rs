//! What each instrument asks, item by item in the questionnaire's order, and its answer
//! scale: what a person answers when a measure is recorded on a page. The count of items
//! and the range of the scale are [`Instrument::shape`]'s (a test keeps them in step).

use super::Instrument;

/// One questionnaire: its name, what it asks before the items, the items, and the answer
/// scale as `(value, words)` from lowest to highest (ONS4: the scale's ends only).
pub struct Questionnaire {
    pub name: &'static str,
    pub lead: &'static str,
    pub items: &'static [&'static str],
    pub scale: &'static [(u8, &'static str)],
}

const WARWICK_LEAD: &str = "Below are some statements about feelings and thoughts. Choose the answer that best describes your experience of each over the last 2 weeks.";
const WARWICK_SCALE: &[(u8, &str)] = &[
    (1, "None of the time"),
    (2, "Rarely"),
    (3, "Some of the time"),
    (4, "Often"),
    (5, "All of the time"),
];

const SWEMWBS: &[&str] = &[
    "I've been feeling optimistic about the future",
    "I've been feeling useful",
    "I've been feeling relaxed",
    "I've been dealing with problems well",
    "I've been thinking clearly",
    "I've been feeling close to other people",
    "I've been able to make up my own mind about things",
];

const WEMWBS: &[&str] = &[
    "I've been feeling optimistic about the future",
    "I've been feeling useful",
    "I've been feeling relaxed",
    "I've been feeling interested in other people",
    "I've had energy to spare",
    "I've been dealing with problems well",
    "I've been thinking clearly",
    "I've been feeling good about myself",
    "I've been feeling close to other people",
    "I've been feeling confident",
    "I've been able to make up my own mind about things",
    "I've been feeling loved",
    "I've been interested in new things",
    "I've been feeling cheerful",
];

const ONS4: &[&str] = &[
    "Overall, how satisfied are you with your life nowadays?",
    "Overall, to what extent do you feel that the things you do in your life are worthwhile?",
    "Overall, how happy did you feel yesterday?",
    "Overall, how anxious did you feel yesterday?",
];

const ONS4_SCALE: &[(u8, &str)] = &[
    (0, "0 (not at all)"),
    (1, "1"),
    (2, "2"),
    (3, "3"),
    (4, "4"),
    (5, "5"),
    (6, "6"),
    (7, "7"),
    (8, "8"),
    (9, "9"),
    (10, "10 (completely)"),
];

const UCLA3: &[&str] = &[
    "How often do you feel that you lack companionship?",
    "How often do you feel left out?",
    "How often do you feel isolated from others?",
];

const UCLA3_SCALE: &[(u8, &str)] = &[(1, "Hardly ever"), (2, "Some of the time"), (3, "Often")];

const MYCAW: &[&str] = &[
    "Concern 1: how much is it bothering you now?",
    "Concern 2 (if the person named a second): how much is it bothering you now?",
    "Wellbeing: how would you rate your general feeling of wellbeing now?",
];

const MYCAW_SCALE: &[(u8, &str)] = &[
    (
        0,
        "0 (not bothering me at all; wellbeing: as good as it could be)",
    ),
    (1, "1"),
    (2, "2"),
    (3, "3"),
    (4, "4"),
    (5, "5"),
    (
        6,
        "6 (bothers me greatly; wellbeing: as bad as it could be)",
    ),
];

/// The questionnaire of `instrument`.
pub fn questionnaire(instrument: Instrument) -> Questionnaire {
    match instrument {
        Instrument::Swemwbs => Questionnaire {
            name: "Short Warwick-Edinburgh Mental Well-being Scale (SWEMWBS)",
            lead: WARWICK_LEAD,
            items: SWEMWBS,
            scale: WARWICK_SCALE,
        },
        Instrument::Wemwbs => Questionnaire {
            name: "Warwick-Edinburgh Mental Well-being Scale (WEMWBS)",
            lead: WARWICK_LEAD,
            items: WEMWBS,
            scale: WARWICK_SCALE,
        },
        Instrument::Ons4 => Questionnaire {
            name: "ONS personal well-being (ONS4)",
            lead: "For each question, answer on a scale of 0 to 10, where 0 is \"not at all\" and 10 is \"completely\".",
            items: ONS4,
            scale: ONS4_SCALE,
        },
        Instrument::Ucla3 => Questionnaire {
            name: "UCLA 3-item loneliness scale",
            lead: "The next questions are about how you feel about different aspects of your life. For each one, say how often you feel that way.",
            items: UCLA3,
            scale: UCLA3_SCALE,
        },
        Instrument::Mycaw => Questionnaire {
            name: "Measure Yourself Concerns and Wellbeing (MYCaW)",
            lead: "Ask the person for one or two concerns or problems they would most like help with, and write them in their own words. Then ask how much each is bothering them now, and how they rate their general feeling of wellbeing, from 0 to 6.",
            items: MYCAW,
            scale: MYCAW_SCALE,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_questionnaire_has_the_items_and_scale_its_scoring_takes() {
        for instrument in Instrument::ALL {
            let q = questionnaire(instrument);
            let (count, min, max) = instrument.shape();
            assert_eq!(q.items.len(), count, "{}", instrument.as_str());
            let values: Vec<u8> = q.scale.iter().map(|(v, _)| *v).collect();
            assert_eq!(
                values,
                (min..=max).collect::<Vec<_>>(),
                "{}",
                instrument.as_str()
            );
        }
    }
}
