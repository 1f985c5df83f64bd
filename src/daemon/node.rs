//! What this machine has: online CPUs, physical memory, and which boot it is in.

/// CPUs this process may run on.
pub fn online_cpus() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// This boot of the machine: the kernel's random boot id, new at every
/// boot. `CONDUCTOR_BOOT_ID` stands in for it, so that tests can simulate a
/// reboot without one.
pub fn boot_id() -> Option<String> {
    if let Ok(simulated) = std::env::var("CONDUCTOR_BOOT_ID") {
        return Some(simulated);
    }
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
}

/// The one-minute load average from `/proc/loadavg`.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Physical memory in MiB.
pub fn physical_memory_mb() -> u64 {
    let info = rustix::system::sysinfo();
    (info.totalram as u64).saturating_mul(u64::from(info.mem_unit)) / (1024 * 1024)
}
