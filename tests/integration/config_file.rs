//! The configuration file against the real `conductord`: a file applied
//! (through cbatch and cinfo), a flag over it, a bad file refused in one
//! line naming file and line, `--print-config` read back by `--config`,
//! the default file under `$XDG_CONFIG_HOME`, `--import-properties` on a
//! seed `app.properties`, and `contrib/conductor.toml` current and valid.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Output, TestDaemon, bin, run_command};

/// A file the daemon reads, with a partition and settings cbatch shows.
const FILE: &str = r#"# a test's conductor.toml
FirstJobId = 1000
CPUs = 2
RealMemory = "1G"
GPUs = 0
KillWait = 1
NodeName = "configured"

[[partition]]
PartitionName = "debug"
MaxTime = 30

[[partition]]
PartitionName = "long"
Default = true
MaxTime = "UNLIMITED"
PriorityTier = 2
"#;

/// Writes `text` to `name` in a directory of its own (kept by the caller).
fn write_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write the file");
    (dir, path)
}

/// `conductord ARGS` to its end (it prints and exits, or refuses), with a
/// configuration home of its own: `home`, else an empty one.
fn conductord(args: &[&str], home: Option<&Path>) -> Output {
    let empty = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(bin("conductord"));
    command
        .args(args)
        .env("XDG_CONFIG_HOME", home.unwrap_or(empty.path()));
    run_command(command, None)
}

/// A daemon started with `--config path` and `args` (its own configuration
/// home, for the next start, empty).
fn daemon_with(path: &Path, args: &[&str]) -> TestDaemon {
    let path = path.to_str().expect("a UTF-8 path");
    let mut argv = vec!["--config", path];
    argv.extend_from_slice(args);
    TestDaemon::start(&argv)
}

/// The TOML of `--print-config`, without its comments (which name the file).
fn settings_of(out: &Output) -> String {
    out.ok()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn a_config_file_sets_the_first_job_id_the_partitions_and_the_node() {
    let (_dir, path) = write_file("conductor.toml", FILE);
    let d = daemon_with(&path, &[]);
    let id = d.submit(&["--wrap", "true"]);
    assert_eq!(id.to_string(), "1000");
    assert_eq!(d.job(id).partition, "long", "the table that says Default");
    let partitions = d.run("cinfo", &["-h", "-o", "%P %l %D %N"]);
    assert_eq!(
        partitions.ok(),
        "debug 30:00 1 configured\nlong* infinite 1 configured\n"
    );
    let debug = d.submit(&["-p", "debug", "--wrap", "true"]);
    assert_eq!(d.job(debug).partition, "debug");
}

#[test]
fn a_flag_given_wins_over_its_key() {
    let (_dir, path) = write_file("conductor.toml", FILE);
    let d = daemon_with(
        &path,
        &[
            "--first-job-id",
            "50",
            "--partition-def",
            "PartitionName=only",
        ],
    );
    let id = d.submit(&["--wrap", "true"]);
    assert_eq!(id.to_string(), "50");
    assert_eq!(d.run("cinfo", &["-h", "-o", "%P"]).ok(), "only*\n");
    // The keys no flag gave still hold.
    assert_eq!(
        d.run("cinfo", &["-h", "-o", "%N %c"]).ok(),
        "configured 2\n"
    );
}

#[test]
fn a_bad_file_is_refused_in_one_line_naming_the_file_line_and_key() {
    let (_dir, path) = write_file(
        "conductor.toml",
        "CPUs = 2\n\n# the id\nFirstJobID = 1000\n",
    );
    let out = conductord(&["--config", path.to_str().expect("UTF-8")], None);
    assert_eq!(
        out.fails_with_one_line(),
        format!(
            "conductord: {}:4: unknown key `FirstJobID` (did you mean `FirstJobId`?)",
            path.display()
        )
    );
    let (_dir, path) = write_file("conductor.toml", "KillWait = 1\nMaxArraySize = 0\n");
    let out = conductord(&["--config", path.to_str().expect("UTF-8")], None);
    assert_eq!(
        out.fails_with_one_line(),
        format!(
            "conductord: {}:2: MaxArraySize: 0 is not in 1..=4000001",
            path.display()
        )
    );
    let missing = conductord(&["--config", "/nonexistent/conductor.toml"], None);
    assert_eq!(
        missing.fails_with_one_line(),
        "conductord: /nonexistent/conductor.toml: No such file or directory"
    );
}

#[test]
fn print_config_reads_back_through_config_and_runs_the_same() {
    let (dir, path) = write_file("conductor.toml", FILE);
    let first = conductord(
        &[
            "--config",
            path.to_str().expect("UTF-8"),
            "--max-array-size",
            "77",
            "--print-config",
        ],
        None,
    );
    let printed = settings_of(&first);
    assert!(printed.contains("FirstJobId = 1000\n"), "{printed}");
    assert!(printed.contains("MaxArraySize = 77\n"), "{printed}");
    assert!(
        printed.contains("[[partition]]\nPartitionName = \"debug\"\n"),
        "{printed}"
    );
    let again_path = dir.path().join("printed.toml");
    std::fs::write(&again_path, first.ok()).expect("write");
    let again = conductord(
        &[
            "--config",
            again_path.to_str().expect("UTF-8"),
            "--print-config",
        ],
        None,
    );
    assert_eq!(settings_of(&again), printed);
    // The printed file runs a daemon with the same settings.
    let d = daemon_with(&again_path, &[]);
    assert_eq!(d.submit(&["--wrap", "true"]).to_string(), "1000");
    let refused = d.run("cbatch", &["--array", "0-80", "--wrap", "true"]);
    assert_ne!(refused.code, 0, "MaxArraySize 77 holds: {refused:?}");
}

#[test]
fn the_default_file_is_read_from_xdg_config_home_and_may_be_missing() {
    let home = tempfile::tempdir().expect("temp dir");
    let none = conductord(&["--print-config"], Some(home.path()));
    assert!(none.ok().contains("no configuration file"), "{none:?}");
    assert!(settings_of(&none).contains("FirstJobId = 1\n"));
    std::fs::create_dir(home.path().join("conductor")).expect("dir");
    let path = home.path().join("conductor/conductor.toml");
    std::fs::write(&path, "FirstJobId = 42\n").expect("write");
    let read = conductord(&["--print-config"], Some(home.path()));
    assert!(read.ok().contains(&path.display().to_string()), "{read:?}");
    assert!(settings_of(&read).contains("FirstJobId = 42\n"));
}

#[test]
fn import_properties_converts_the_seed_s_file() {
    let (dir, path) = write_file(
        "app.properties",
        "# the seed's settings\nPOSTGRES_HOST=db.internal\nPOSTGRES_PORT=5432\nREDIS_HOST=cache\n\
         API_HOST=127.0.0.1\nAPI_PORT=8080\nAPI_WORKERS=4\nNODE_NAME=seed01\nTOTAL_CPUS=3\n\
         DEFAULT_PARTITION=batch\nLOG_LEVEL=INFO\nLOG_FILE=/tmp/seed.log\nJOB_WORK_BASE_DIR=/srv/jobs\n",
    );
    let out = conductord(
        &["--import-properties", path.to_str().expect("UTF-8")],
        None,
    );
    let toml = out.ok();
    for line in [
        "NodeName = \"seed01\"\n",
        "CPUs = 3\n",
        "DefaultPartition = \"batch\"\n",
        "Listen = \"127.0.0.1:8080\"\n",
        "LogFile = \"/tmp/seed.log\"\n",
        "# LOG_LEVEL: no equivalent",
        "# POSTGRES_HOST: no equivalent",
        "# JOB_WORK_BASE_DIR: no equivalent",
    ] {
        assert!(toml.contains(line), "{line:?} in\n{toml}");
    }
    // What it writes, --config reads.
    let converted = dir.path().join("conductor.toml");
    std::fs::write(&converted, toml).expect("write");
    let read = conductord(
        &[
            "--config",
            converted.to_str().expect("UTF-8"),
            "--print-config",
        ],
        None,
    );
    let settings = settings_of(&read);
    assert!(settings.contains("CPUs = 3\n"), "{settings}");
    assert!(
        settings.contains("DefaultPartition = \"batch\"\n"),
        "{settings}"
    );
    let bad = write_file("app.properties", "TOTAL_CPUS=many\n");
    let refused = conductord(
        &["--import-properties", bad.1.to_str().expect("UTF-8")],
        None,
    );
    assert_eq!(
        refused.fails_with_one_line(),
        format!(
            "conductord: {}:1: TOTAL_CPUS=many: not a number of CPUs",
            bad.1.display()
        )
    );
}

#[test]
fn contrib_conductor_toml_is_current_and_its_defaults_are_the_daemon_s() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("contrib/conductor.toml");
    let expected = conductor::cli::conductord::commented_defaults();
    if std::env::var_os("UPDATE_GENERATED").is_some_and(|v| v == "1") {
        std::fs::write(&path, &expected).expect("write contrib/conductor.toml");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == expected,
        "contrib/conductor.toml is out of date: UPDATE_GENERATED=1 cargo test --test integration config_file"
    );
    // Every `# Key = default` line uncommented: the daemon's own defaults.
    let uncommented: String = checked_in
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .take_while(|line| !line.starts_with("[[partition]]"))
        .filter(|line| {
            line.split_once(" = ")
                .is_some_and(|(key, value)| !key.contains(' ') && !value.starts_with('<'))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    let (_dir, defaults) = write_file("conductor.toml", &uncommented);
    let with_file = conductord(
        &[
            "--config",
            defaults.to_str().expect("UTF-8"),
            "--print-config",
        ],
        None,
    );
    let without = conductord(&["--print-config"], None);
    assert_eq!(settings_of(&with_file), settings_of(&without));
    assert!(uncommented.lines().count() > 30, "{uncommented}");
}

#[test]
fn the_readme_s_example_file_is_one_the_daemon_reads() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split_once("### Configuration file")
        .map(|(_, rest)| rest)
        .expect("README has the section");
    let example = section
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(toml, _)| toml)
        .expect("the section has an example");
    let (_dir, path) = write_file("conductor.toml", example);
    let out = conductord(
        &["--config", path.to_str().expect("UTF-8"), "--print-config"],
        None,
    );
    let settings = settings_of(&out);
    assert!(settings.contains("FirstJobId = 1000\n"), "{settings}");
    assert!(
        settings.contains("PartitionName = \"long\"\n"),
        "{settings}"
    );
}

#[test]
fn log_file_takes_the_daemon_s_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("conductord.log");
    let (_file_dir, path) = write_file(
        "conductor.toml",
        &format!(
            "CPUs = 1\nGPUs = 0\nLogFile = {:?}\n",
            log.display().to_string()
        ),
    );
    let d = daemon_with(&path, &[]);
    let id = d.submit(&["--wrap", "true"]);
    d.wait_ended(id, std::time::Duration::from_secs(20));
    crate::support::wait_until(
        std::time::Duration::from_secs(10),
        "the log names the job",
        || std::fs::read_to_string(&log).is_ok_and(|text| text.contains(&format!("job {id} "))),
    );
    assert!(!d.log().contains(&format!("job {id}")), "{}", d.log());
}
