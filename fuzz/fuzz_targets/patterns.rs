//! `-o/-e/-i` file-name patterns: expand never panics, and text without
//! `%` or `\` comes out unchanged.
#![no_main]

use conductor::format::pattern::{PatternValues, expand};
use libfuzzer_sys::fuzz_target;

const ARRAY_TASK: PatternValues<'static> = PatternValues {
    job_id: 4242,
    array: Some((4240, 7)),
    name: "train",
    user: "alice",
    node: "node01",
    task: 0,
    step: None,
};

const PLAIN_JOB: PatternValues<'static> = PatternValues {
    job_id: u64::MAX,
    array: None,
    name: "",
    user: "bob",
    node: "n",
    task: u32::MAX,
    step: Some(u32::MAX),
};

fuzz_target!(|data: &[u8]| {
    let Ok(pattern) = std::str::from_utf8(data) else {
        return;
    };
    for values in [&ARRAY_TASK, &PLAIN_JOB] {
        let expanded = expand(pattern, values);
        if !pattern.contains(['%', '\\']) {
            assert_eq!(expanded, pattern);
        }
    }
});
