//! The HTTP API's JSON bodies: every request type (and JobInfo) either
//! parses or is refused, never panics; whatever parses serialises to JSON
//! that parses back to an equal value.
#![no_main]

use conductor::protocol::{
    HoldRequest, JobInfo, ListQuery, SignalRequest, SubmitRequest, UpdateRequest,
};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T>(data: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let Ok(value) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let json = serde_json::to_vec(&value).expect("a parsed value serialises");
    let again: T = serde_json::from_slice(&json).expect("serialised JSON parses back");
    assert_eq!(again, value, "{}", String::from_utf8_lossy(&json));
}

fuzz_target!(|data: &[u8]| {
    round_trip::<SubmitRequest>(data);
    round_trip::<ListQuery>(data);
    round_trip::<UpdateRequest>(data);
    round_trip::<SignalRequest>(data);
    round_trip::<HoldRequest>(data);
    round_trip::<JobInfo>(data);
});
