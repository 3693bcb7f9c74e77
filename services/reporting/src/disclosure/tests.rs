use super::*;

#[test]
fn the_nhs_rule_on_single_counts() {
    let r = Rules::default();
    assert_eq!(r.count(0), Figure::Count(0));
    for n in 1..=7 {
        assert!(r.count(n).is_suppressed(), "{n}");
    }
    assert_eq!(r.count(8), Figure::Count(10));
    assert_eq!(r.count(12), Figure::Count(10));
    assert_eq!(r.count(13), Figure::Count(15));
}
