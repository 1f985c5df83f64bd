//! `--array` and `--dependency`: neither parser panics; a parsed array's
//! indices are sorted, unique, in range, and their compact form parses back
//! to them; a parsed dependency prints into text that parses back to it.
#![no_main]

use conductor::format::array::{DEFAULT_MAX_ARRAY_SIZE, compress, parse_array};
use conductor::format::dependency::parse_dependency;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = parse_array(text, DEFAULT_MAX_ARRAY_SIZE) {
        assert!(!spec.indices.is_empty());
        assert!(spec.indices.windows(2).all(|w| w[0] < w[1]));
        assert!(spec.indices.iter().all(|&i| i < DEFAULT_MAX_ARRAY_SIZE));
        let compact = compress(&spec.indices);
        let again = parse_array(&compact, DEFAULT_MAX_ARRAY_SIZE)
            .map(|s| s.indices)
            .ok();
        assert_eq!(
            again.as_ref(),
            Some(&spec.indices),
            "{text:?} -> {compact:?}"
        );
    }
    if let Ok(dependency) = parse_dependency(text) {
        assert!(!dependency.conditions.is_empty());
        let separator = if dependency.any { "?" } else { "," };
        let shown = dependency
            .conditions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(separator);
        let again = parse_dependency(&shown).ok();
        assert_eq!(again.as_ref(), Some(&dependency), "{text:?} -> {shown:?}");
    }
});
