//! Running Conductor as a service: the systemd units in `contrib/systemd/`
//! say what the README promises jobs (they outlive a daemon restart, write
//! where their users may, keep setuid programs) and pass `systemd-analyze
//! verify`; `cargo deb` packages every binary, man page, completion, both
//! units and the default configuration (a conffile); and the
//! package installs into a throwaway root with `dpkg --root`, where its own
//! binaries run a job, and keeps a changed configuration until purged.
//!
//! The package is made of the binaries this test run was built with (the
//! debug profile; cargo-deb strips them), so no release build is needed.
//! Each check that needs a tool says so and is skipped where it is missing:
//! `systemd-analyze`, `cargo deb`, `dpkg`, `dpkg-deb`, `strip` (`.ci/run`
//! installs them).

use std::collections::BTreeSet;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{bin, run_command, signal, wait_until};

/// The cargo-deb that `.ci/run` installs.
const CARGO_DEB: &str = "cargo install cargo-deb --version 3.8.0 --locked";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The binaries Cargo.toml declares (`[[bin]]`), each of which the package
/// must carry with its man page and completions.
fn binaries() -> Vec<String> {
    read(&repo().join("Cargo.toml"))
        .split("[[bin]]")
        .skip(1)
        .map(|section| {
            section
                .lines()
                .find_map(|line| line.trim().strip_prefix("name = "))
                .map(|name| name.trim_matches('"').to_string())
                .expect("every [[bin]] has a name")
        })
        .collect()
}

/// Whether `program args` runs and succeeds (a tool is there).
fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A unit's settings, `Key=value` lines without comments, in order.
fn directives(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#') && !line.starts_with('['))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn value<'a>(settings: &'a [(String, String)], key: &str) -> Option<&'a str> {
    settings
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn the_system_unit_lets_jobs_outlive_restarts_write_their_files_and_use_setuid() {
    let unit = read(&repo().join("contrib/systemd/conductord.service"));
    let settings = directives(&unit);
    for (key, wanted) in [
        ("ExecStart", "/usr/bin/conductord --system"),
        // No sd_notify in conductord.
        ("Type", "exec"),
        // Supervisors outlive the daemon; control-group would kill jobs.
        ("KillMode", "process"),
        ("Restart", "on-failure"),
        // cgroup v2 containment makes the jobs' cgroups under the daemon's.
        ("Delegate", "yes"),
        ("TasksMax", "infinity"),
        ("ProtectSystem", "strict"),
        ("StateDirectory", "conductor"),
        ("StateDirectoryMode", "0711"),
        ("RuntimeDirectory", "conductor"),
        // The jobs' umask; the daemon keeps its own files at 077 itself.
        ("UMask", "0022"),
        // Inherited by every job: it would break sudo and setuid helpers.
        ("NoNewPrivileges", "no"),
        ("WantedBy", "multi-user.target"),
    ] {
        assert_eq!(value(&settings, key), Some(wanted), "{key}= in {unit}");
    }
    let nofile = value(&settings, "LimitNOFILE").expect("LimitNOFILE=");
    assert!(
        nofile.starts_with("1024:"),
        "jobs keep a soft limit of 1024, the daemon raises its own to the hard one: {nofile}"
    );
    let writable: Vec<&str> = value(&settings, "ReadWritePaths")
        .expect("ReadWritePaths=")
        .split_whitespace()
        .collect();
    for path in ["/home", "/tmp", "/var/tmp", "-/root"] {
        assert!(
            writable.contains(&path),
            "{path} writable for jobs: {writable:?}"
        );
    }
    // Each of these would hide users' files from their jobs, take their
    // GPUs or the daemon's cgroups away, or bind every job's privileges.
    for key in [
        "ProtectHome",
        "PrivateTmp",
        "PrivateDevices",
        "ProtectControlGroups",
        "CapabilityBoundingSet",
        "SystemCallFilter",
        "MemoryDenyWriteExecute",
        "RestrictSUIDSGID",
        "User",
        "DynamicUser",
    ] {
        assert_eq!(value(&settings, key), None, "{key}= must not be set");
    }
}

#[test]
fn the_user_unit_runs_the_per_user_daemon_for_systemctl_user() {
    let unit = read(&repo().join("contrib/systemd/user/conductord.service"));
    let settings = directives(&unit);
    for (key, wanted) in [
        ("ExecStart", "/usr/bin/conductord"),
        ("Type", "exec"),
        ("KillMode", "process"),
        ("Restart", "on-failure"),
        ("Delegate", "yes"),
        ("WantedBy", "default.target"),
    ] {
        assert_eq!(value(&settings, key), Some(wanted), "{key}= in {unit}");
    }
    for key in [
        "ProtectSystem",
        "ProtectHome",
        "PrivateTmp",
        "UMask",
        "User",
    ] {
        assert_eq!(value(&settings, key), None, "{key}= must not be set");
    }
}

#[test]
fn the_units_pass_systemd_analyze_verify() {
    if !have("systemd-analyze", &["--version"]) {
        println!("skipped: systemd-analyze is not installed (Debian's systemd package)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (unit, user) in [
        ("contrib/systemd/conductord.service", false),
        ("contrib/systemd/user/conductord.service", true),
    ] {
        verify(
            &repo().join(unit),
            &bin("conductord"),
            user,
            None,
            dir.path(),
        );
    }
}

/// The major version of the systemd whose `systemd-analyze` is installed
/// (`systemd 252 (252.39-1~deb12u2)`), `None` where it says none.
fn systemd_version() -> Option<u32> {
    let mut command = Command::new("systemd-analyze");
    command.arg("--version");
    run_command(command, None)
        .stdout
        .lines()
        .next()?
        .strip_prefix("systemd ")?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// What `systemd-analyze verify` said of `copy` that counts: everything, but
/// for a systemd older than 254 (`version`) the one warning that it does not
/// know `DelegateSubgroup=` (added in 254; the unit says what happens
/// without it).
fn complaints(stderr: &str, copy: &Path, version: Option<u32>) -> Vec<String> {
    let old = version.is_some_and(|v| v < 254);
    let unknown = format!("{}:", copy.display());
    stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter(|line| {
            let tolerated = old
                && line.strip_prefix(&unknown).is_some_and(|rest| {
                    rest.split_once(": ").is_some_and(|(number, message)| {
                        number.parse::<u32>().is_ok()
                            && message
                                == "Unknown key 'DelegateSubgroup' in section [Service], ignoring."
                    })
                });
            !tolerated
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn only_an_old_systemds_unknown_delegate_subgroup_is_tolerated() {
    let copy = Path::new("/t/conductord.service");
    let warning =
        "/t/conductord.service:70: Unknown key 'DelegateSubgroup' in section [Service], ignoring.";
    assert!(complaints(warning, copy, Some(252)).is_empty());
    assert_eq!(complaints(warning, copy, Some(254)).len(), 1);
    assert_eq!(complaints(warning, copy, None).len(), 1);
    for other in [
        "/t/conductord.service:71: Unknown key 'DelegateSubgrup' in section [Service], ignoring.",
        "/t/conductord.service:9: Unknown key 'DelegateSubgroup' in section [Unit], ignoring.",
        "/t/other.service:70: Unknown key 'DelegateSubgroup' in section [Service], ignoring.",
        "/t/conductord.service:70: Failed to parse DelegateSubgroup=, ignoring.",
    ] {
        assert_eq!(complaints(other, copy, Some(252)), vec![other.to_string()]);
    }
}

/// Runs `systemd-analyze verify` on a copy of `unit` whose ExecStart names
/// `conductord` (verify wants the executable to exist; /usr/bin has none
/// here), and wants no complaint at all: an unknown or misspelt key is only
/// a warning to systemd. The one exception is `DelegateSubgroup=` on a
/// systemd that predates it ([`complaints`]). With `man`, the unit's
/// `Documentation=` page must be found there too.
fn verify(unit: &Path, conductord: &Path, user: bool, man: Option<&Path>, scratch: &Path) {
    let dir = scratch.join(if user { "verify-user" } else { "verify-system" });
    std::fs::create_dir_all(&dir).expect("verify dir");
    let copy = dir.join("conductord.service");
    let text = read(unit).replace("/usr/bin/conductord", &conductord.display().to_string());
    std::fs::write(&copy, text).expect("write the unit's copy");
    let mut command = Command::new("systemd-analyze");
    if user {
        // A user manager's paths come from the runtime directory.
        let runtime = dir.join("runtime");
        std::fs::create_dir_all(&runtime).expect("runtime dir");
        command.arg("--user").env("XDG_RUNTIME_DIR", &runtime);
    }
    command.arg("verify");
    match man {
        Some(pages) => command.env("MANPATH", pages),
        None => command.arg("--man=no"),
    };
    command.arg(&copy);
    let out = run_command(command, None);
    assert!(
        out.code == 0 && complaints(&out.stderr, &copy, systemd_version()).is_empty(),
        "systemd-analyze verify {}: {out:?}",
        unit.display()
    );
}

/// The tools the package test needs that are missing here.
fn missing_packaging_tools() -> Vec<&'static str> {
    [
        ("cargo-deb", have(&cargo(), &["deb", "--version"])),
        ("dpkg-deb", have("dpkg-deb", &["--version"])),
        ("dpkg", have("dpkg", &["--version"])),
        ("strip (binutils)", have("strip", &["--version"])),
    ]
    .into_iter()
    .filter(|(_, there)| !there)
    .map(|(tool, _)| tool)
    .collect()
}

#[test]
fn the_debian_package_carries_everything_and_installs_into_a_throwaway_root() {
    let missing = missing_packaging_tools();
    if !missing.is_empty() {
        println!(
            "skipped: {} not installed (.ci/run installs them; cargo-deb with `{CARGO_DEB}`)",
            missing.join(", ")
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let deb = build_package(dir.path());
    check_contents(&deb);
    check_control(&deb, dir.path());

    let root = dir.path().join("root");
    let installed = Dpkg::new(&root, dir.path());
    installed.run(&["--install", &deb.display().to_string()]);
    assert_eq!(installed.status(), "install ok installed");
    check_installed_files(&root);
    check_installed_binaries(&root, dir.path());
    if have("systemd-analyze", &["--version"]) {
        // The installed unit, its installed binary and, where man is there
        // to look, its installed man page.
        let man = have("man", &["--version"]).then(|| root.join("usr/share/man"));
        if man.is_none() {
            println!("Documentation= not looked up: man is not installed");
        }
        for (unit, user) in [
            ("lib/systemd/system/conductord.service", false),
            ("usr/lib/systemd/user/conductord.service", true),
        ] {
            verify(
                &root.join(unit),
                &root.join("usr/bin/conductord"),
                user,
                man.as_deref(),
                dir.path(),
            );
        }
    } else {
        println!("not verified: systemd-analyze is not installed");
    }
    check_conffile_lifecycle(&installed, &root, &deb);
}

/// `cargo deb` without a build, from the binaries this test binary was
/// built with: cargo-deb takes `target/release/` to mean the profile's
/// directory of a target dir, so a target dir of our own whose `release/`
/// links to them stands in. cargo-deb strips into copies of its own (the
/// links' targets stay as they are) and `--fast` keeps xz quick.
fn build_package(dir: &Path) -> PathBuf {
    let target = dir.join("target");
    let release = target.join("release");
    std::fs::create_dir_all(&release).expect("release dir");
    for name in binaries() {
        std::os::unix::fs::symlink(bin(&name), release.join(&name)).expect("link a binary");
    }
    let deb = dir.join("conductor.deb");
    let mut command = Command::new(cargo());
    command
        .args([
            "deb",
            "--no-build",
            "--locked",
            "--strip",
            "--fast",
            "--output",
        ])
        .arg(&deb)
        .current_dir(repo())
        .env("CARGO_TARGET_DIR", &target);
    let out = run_command(command, None);
    assert_eq!(out.code, 0, "cargo deb: {out:?}");
    assert!(deb.is_file(), "cargo deb made {}: {out:?}", deb.display());
    deb
}

/// Every file `dpkg-deb -c` lists, with its mode and owner.
fn listing(deb: &Path) -> Vec<(String, String, String)> {
    let mut command = Command::new("dpkg-deb");
    command.arg("--contents").arg(deb);
    run_command(command, None)
        .ok()
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (mode, owner, path) = (fields.first()?, fields.get(1)?, fields.get(5)?);
            mode.starts_with('-').then(|| {
                (
                    path.trim_start_matches('.').to_string(),
                    (*mode).to_string(),
                    (*owner).to_string(),
                )
            })
        })
        .collect()
}

fn check_contents(deb: &Path) {
    let files = listing(deb);
    let mut wanted = BTreeSet::new();
    for name in binaries() {
        wanted.insert(format!("/usr/bin/{name}"));
        wanted.insert(format!("/usr/share/man/man1/{name}.1.gz"));
        wanted.insert(format!("/usr/share/bash-completion/completions/{name}"));
        wanted.insert(format!("/usr/share/zsh/vendor-completions/_{name}"));
        wanted.insert(format!("/usr/share/fish/vendor_completions.d/{name}.fish"));
    }
    for path in [
        "/lib/systemd/system/conductord.service",
        "/usr/lib/systemd/user/conductord.service",
        "/etc/conductor/conductor.toml",
        "/usr/share/doc/conductor/README.md",
        "/usr/share/doc/conductor/copyright",
    ] {
        wanted.insert(path.to_string());
    }
    let got: BTreeSet<String> = files.iter().map(|(path, _, _)| path.clone()).collect();
    let absent: Vec<&String> = wanted.difference(&got).collect();
    let extra: Vec<&String> = got.difference(&wanted).collect();
    assert!(
        absent.is_empty() && extra.is_empty(),
        "the package's files: missing {absent:?}, unexpected {extra:?}"
    );
    for (path, mode, owner) in &files {
        let want = if path.starts_with("/usr/bin/") {
            "-rwxr-xr-x"
        } else {
            "-rw-r--r--"
        };
        assert_eq!((mode.as_str(), owner.as_str()), (want, "0/0"), "{path}");
    }
}

/// The control fields, the conffile, and no maintainer scripts: the
/// package neither enables nor starts the daemon (the administrator does),
/// which is also why `dpkg --root` can install it without a chroot.
fn check_control(deb: &Path, dir: &Path) {
    let mut command = Command::new("dpkg-deb");
    command
        .arg("--field")
        .arg(deb)
        .args(["Package", "Version", "Depends"]);
    let fields = run_command(command, None).ok().to_string();
    assert!(fields.contains("Package: conductor\n"), "{fields}");
    let version = format!("Version: {}-1\n", env!("CARGO_PKG_VERSION"));
    assert!(fields.contains(&version), "{fields}");
    if have("dpkg-shlibdeps", &["--version"]) {
        assert!(fields.contains("Depends: libc6"), "{fields}");
    } else {
        println!("Depends not checked: dpkg-shlibdeps (dpkg-dev) is not installed");
    }
    let control = dir.join("control");
    let mut command = Command::new("dpkg-deb");
    command.arg("--control").arg(deb).arg(&control);
    run_command(command, None).ok();
    assert_eq!(
        read(&control.join("conffiles")).trim(),
        "/etc/conductor/conductor.toml"
    );
    for script in ["preinst", "postinst", "prerm", "postrm"] {
        assert!(!control.join(script).exists(), "no {script} script");
    }
}

/// What was installed is what the repository holds.
fn check_installed_files(root: &Path) {
    for (installed, source) in [
        (
            "lib/systemd/system/conductord.service",
            "contrib/systemd/conductord.service",
        ),
        (
            "usr/lib/systemd/user/conductord.service",
            "contrib/systemd/user/conductord.service",
        ),
        ("etc/conductor/conductor.toml", "contrib/conductor.toml"),
        (
            "usr/share/bash-completion/completions/cbatch",
            "completions/cbatch.bash",
        ),
        (
            "usr/share/zsh/vendor-completions/_cbatch",
            "completions/_cbatch",
        ),
    ] {
        assert_eq!(
            read(&root.join(installed)),
            read(&repo().join(source)),
            "{installed}"
        );
    }
    let mut command = Command::new("gzip");
    command
        .arg("-dc")
        .arg(root.join("usr/share/man/man1/cbatch.1.gz"));
    assert_eq!(
        run_command(command, None).ok(),
        read(&repo().join("man/cbatch.1"))
    );
}

/// A daemon killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Each installed binary answers `--version`, and the installed daemon,
/// its launcher and supervisor (the same installed executable) run a job
/// that the installed `cbatch` submits and waits for.
fn check_installed_binaries(root: &Path, dir: &Path) {
    let usr_bin = root.join("usr/bin");
    let answer = |name: &str, arg: &str| {
        let mut command = Command::new(usr_bin.join(name));
        command.arg(arg);
        run_command(command, None)
    };
    for name in binaries() {
        let version = format!("{name} {}", env!("CARGO_PKG_VERSION"));
        assert_eq!(answer(&name, "--version").ok().trim(), version);
    }
    assert!(answer("cbatch", "--help").ok().contains("Usage: cbatch"));

    let socket = dir.join("conductord.sock");
    let work = dir.join("work");
    std::fs::create_dir_all(&work).expect("work dir");
    let log = std::fs::File::create(dir.join("conductord.log")).expect("log file");
    let daemon = Command::new(usr_bin.join("conductord"))
        .arg("--socket")
        .arg(&socket)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .args(["--cpus", "1", "--mem", "256M", "--gpus", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the installed conductord starts");
    let mut daemon = Running(daemon);
    wait_until(
        Duration::from_secs(20),
        "the installed daemon answers",
        || UnixStream::connect(&socket).is_ok(),
    );
    let mut submit = Command::new(usr_bin.join("cbatch"));
    submit
        .args(["--wait", "--wrap", "echo \"packaged job $SLURM_JOB_ID\""])
        .current_dir(&work)
        .env("CONDUCTOR_SERVER", format!("unix:{}", socket.display()))
        .env("CONDUCTOR_NO_AUTOSTART", "1");
    let out = run_command(submit, None);
    assert_eq!(out.ok().trim(), "Submitted batch job 1");
    assert_eq!(read(&work.join("slurm-1.out")), "packaged job 1\n");
    signal(daemon.0.id(), "TERM");
    let status = daemon.0.wait().expect("wait for the daemon");
    assert!(
        status.success(),
        "the installed daemon stops cleanly: {}",
        read(&dir.join("conductord.log"))
    );
}

/// An administrator's change to the conffile outlives reinstalling and
/// removing the package; only a purge takes it away.
fn check_conffile_lifecycle(dpkg: &Dpkg, root: &Path, deb: &Path) {
    let config = root.join("etc/conductor/conductor.toml");
    let changed = format!("{}# changed by the administrator\n", read(&config));
    std::fs::write(&config, &changed).expect("change the conffile");
    dpkg.run(&["--install", &deb.display().to_string()]);
    assert_eq!(read(&config), changed, "a reinstall keeps the change");
    dpkg.run(&["--remove", "conductor"]);
    assert_eq!(dpkg.status(), "deinstall ok config-files");
    assert!(
        !root.join("usr/bin/conductord").exists(),
        "binaries removed"
    );
    assert_eq!(read(&config), changed, "a removal keeps the configuration");
    dpkg.run(&["--purge", "conductor"]);
    assert!(!config.exists(), "a purge removes the configuration");
}

/// dpkg working on a throwaway root of its own: `--root` with its own
/// database, without root's rights (`--force-not-root`), without libc6 in
/// that root (`--force-depends`). dpkg would run maintainer scripts
/// chrooted into the root; the package has none.
struct Dpkg {
    root: PathBuf,
    home: PathBuf,
}

impl Dpkg {
    fn new(root: &Path, home: &Path) -> Dpkg {
        let admin = root.join("var/lib/dpkg");
        for sub in ["info", "updates", "triggers"] {
            std::fs::create_dir_all(admin.join(sub)).expect("dpkg's database");
        }
        std::fs::write(admin.join("status"), "").expect("dpkg's status file");
        Dpkg {
            root: root.to_path_buf(),
            home: home.to_path_buf(),
        }
    }

    fn run(&self, args: &[&str]) {
        // dpkg wants ldconfig and start-stop-daemon on PATH, which a user's
        // PATH may lack.
        let path = format!(
            "/usr/local/sbin:/usr/sbin:/sbin:{}",
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new("dpkg");
        command
            .arg(format!("--root={}", self.root.display()))
            .args(["--force-not-root", "--force-depends", "--log=/dev/null"])
            .args(args)
            .env("PATH", path)
            .env("HOME", &self.home);
        let out = run_command(command, None);
        assert_eq!(out.code, 0, "dpkg {args:?}: {out:?}");
    }

    fn status(&self) -> String {
        let mut command = Command::new("dpkg-query");
        command
            .arg(format!(
                "--admindir={}",
                self.root.join("var/lib/dpkg").display()
            ))
            .args(["--show", "--showformat=${Status}", "conductor"]);
        run_command(command, None).ok().to_string()
    }
}
