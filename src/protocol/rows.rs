//! The compact listing, `GET /v1/jobs?fields=...&format=rows`: each job an
//! array of values in the order of the reply's `fields`, no keys, decoded
//! into [`JobInfo`]s.
//!
//! `{"fields":["job_id","state"],"jobs":[[12,"PENDING"],[13,"RUNNING"]]}`
//!
//! Without keys there is no name to match per value, and the reply is
//! about half as long, so both ends of a long listing do less. A null is
//! the field's default.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{JobField, JobInfo};

/// Decodes a rows reply into jobs.
pub fn decode(bytes: &[u8]) -> serde_json::Result<Vec<JobInfo>> {
    // Each job opens one array: the count of '[' bounds the jobs from above
    // (closely, unless id lists are asked for), so the jobs are not moved
    // as the list grows.
    let capacity = memchr::memchr_iter(b'[', bytes).count();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let jobs = Reply { capacity }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(jobs)
}

impl<'de> Deserialize<'de> for JobField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::from_text(deserializer)
    }
}

/// The reply object: `fields` first, then `jobs`.
struct Reply {
    capacity: usize,
}

impl<'de> DeserializeSeed<'de> for Reply {
    type Value = Vec<JobInfo>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Reply {
    type Value = Vec<JobInfo>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with fields and jobs")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields: Option<Vec<JobField>> = None;
        let mut jobs = None;
        while let Some(key) = map.next_key::<&str>()? {
            match key {
                "fields" => fields = Some(map.next_value()?),
                "jobs" => {
                    let fields = fields
                        .as_deref()
                        .ok_or_else(|| de::Error::custom("jobs before fields"))?;
                    jobs = Some(map.next_value_seed(Jobs {
                        fields,
                        capacity: self.capacity,
                    })?);
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        jobs.ok_or_else(|| de::Error::missing_field("jobs"))
    }
}

/// The `jobs` array.
struct Jobs<'f> {
    fields: &'f [JobField],
    capacity: usize,
}

impl<'de> DeserializeSeed<'de> for Jobs<'_> {
    type Value = Vec<JobInfo>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Jobs<'_> {
    type Value = Vec<JobInfo>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of jobs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut jobs = Vec::with_capacity(self.capacity);
        // Each job is decoded where it is kept: a JobInfo is big, and
        // handing it back through the decoder moves it several times.
        loop {
            jobs.push(JobInfo::default());
            let last = jobs.len() - 1;
            let row = Row {
                fields: self.fields,
                job: &mut jobs[last],
            };
            if seq.next_element_seed(row)?.is_none() {
                jobs.pop();
                break;
            }
        }
        Ok(jobs)
    }
}

/// One job's array, decoded into `job`.
struct Row<'f, 'j> {
    fields: &'f [JobField],
    job: &'j mut JobInfo,
}

impl<'de> DeserializeSeed<'de> for Row<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Row<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of {} values", self.fields.len())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        for field in self.fields {
            set(self.job, *field, &mut seq)?;
        }
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(self.fields.len() + 1, &self));
        }
        Ok(())
    }
}

/// Reads the next value into `field` of `job`.
fn set<'de, A: SeqAccess<'de>>(
    job: &mut JobInfo,
    field: JobField,
    seq: &mut A,
) -> Result<(), A::Error> {
    /// The next value, its type's default when null.
    fn next<'de, A: SeqAccess<'de>, T: Deserialize<'de> + Default>(
        seq: &mut A,
        field: JobField,
    ) -> Result<T, A::Error> {
        match seq.next_element::<Option<T>>()? {
            Some(value) => Ok(value.unwrap_or_default()),
            None => Err(de::Error::custom(format!("a row ends before {field}"))),
        }
    }
    let s = seq;
    let f = field;
    match field {
        JobField::JobId => job.job_id = next(s, f)?,
        JobField::Name => job.name = next(s, f)?,
        JobField::User => job.user = next(s, f)?,
        JobField::Uid => job.uid = next(s, f)?,
        JobField::Partition => job.partition = next(s, f)?,
        JobField::State => job.state = next(s, f)?,
        JobField::Reason => job.reason = next(s, f)?,
        JobField::Cpus => job.cpus = next(s, f)?,
        JobField::Ntasks => job.ntasks = next(s, f)?,
        JobField::CpusPerTask => job.cpus_per_task = next(s, f)?,
        JobField::MemoryMb => job.memory_mb = next(s, f)?,
        JobField::Gpus => job.gpus = next(s, f)?,
        JobField::CpuIds => job.cpu_ids = next(s, f)?,
        JobField::GpuIds => job.gpu_ids = next(s, f)?,
        JobField::Node => job.node = next(s, f)?,
        JobField::SubmitTime => job.submit_time = next(s, f)?,
        JobField::StartTime => job.start_time = next(s, f)?,
        JobField::EndTime => job.end_time = next(s, f)?,
        JobField::TimeLimit => job.time_limit = next(s, f)?,
        JobField::ExitCode => job.exit_code = next(s, f)?,
        JobField::WorkDir => job.work_dir = next(s, f)?,
        JobField::Stdout => job.stdout = next(s, f)?,
        JobField::Stderr => job.stderr = next(s, f)?,
        JobField::Stdin => job.stdin = next(s, f)?,
        JobField::Gid => job.gid = next(s, f)?,
        JobField::SubmitDir => job.submit_dir = next(s, f)?,
        JobField::Command => job.command = next(s, f)?,
        JobField::ArrayJobId => job.array_job_id = next(s, f)?,
        JobField::ArrayTaskId => job.array_task_id = next(s, f)?,
        JobField::ArrayMaxRunning => job.array_max_running = next(s, f)?,
        JobField::Dependency => job.dependency = next(s, f)?,
        JobField::BeginTime => job.begin_time = next(s, f)?,
        JobField::Priority => job.priority = next(s, f)?,
        JobField::Nice => job.nice = next(s, f)?,
        JobField::Restarts => job.restarts = next(s, f)?,
        JobField::CancelledBy => job.cancelled_by = next(s, f)?,
        JobField::Exclusive => job.exclusive = next(s, f)?,
        JobField::MemoryPerCpuMb => job.memory_per_cpu_mb = next(s, f)?,
        JobField::MaxRssKb => job.max_rss_kb = next(s, f)?,
        JobField::TotalCpuUsec => job.total_cpu_usec = next(s, f)?,
        JobField::UserCpuUsec => job.user_cpu_usec = next(s, f)?,
        JobField::SystemCpuUsec => job.system_cpu_usec = next(s, f)?,
        JobField::Steps => job.steps = next(s, f)?,
        JobField::Comment => job.comment = next(s, f)?,
        JobField::Account => job.account = next(s, f)?,
        JobField::Qos => job.qos = next(s, f)?,
        JobField::Wckey => job.wckey = next(s, f)?,
        JobField::ExpectedStart => job.expected_start = next(s, f)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{JobId, JobState};

    #[test]
    fn rows_decode_in_the_order_of_their_fields() {
        let reply = br#"{"fields":["job_id","name","state","node","cpu_ids"],
            "jobs":[[12,"a","RUNNING","box",[0,1]],[13,null,"PENDING",null,null]]}"#;
        let jobs = decode(reply).expect("decodes");
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].job_id, JobId(12));
        assert_eq!(jobs[0].name, "a");
        assert_eq!(jobs[0].node.as_deref(), Some("box"));
        assert_eq!(jobs[0].cpu_ids, vec![0, 1]);
        assert_eq!(jobs[1].state, JobState::Pending);
        assert_eq!(
            jobs[1],
            JobInfo {
                job_id: JobId(13),
                state: JobState::Pending,
                ..JobInfo::default()
            }
        );
        assert_eq!(
            decode(br#"{"fields":[],"jobs":[]}"#).expect("empty"),
            vec![]
        );
    }

    #[test]
    fn malformed_rows_are_errors() {
        for bad in [
            &br#"{"jobs":[[1]],"fields":["job_id"]}"#[..],
            br#"{"fields":["job_id","state"],"jobs":[[1]]}"#,
            br#"{"fields":["job_id"],"jobs":[[1,2]]}"#,
            br#"{"fields":["bogus"],"jobs":[]}"#,
            br#"{"fields":["job_id"],"jobs":[["x"]]}"#,
            br#"{"fields":["job_id"]}"#,
            br#"{"fields":["job_id"],"jobs":[[1]]} x"#,
        ] {
            assert!(decode(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
