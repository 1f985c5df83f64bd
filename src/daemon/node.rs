//! What this machine has: online CPUs and physical memory.

/// CPUs this process may run on.
pub fn online_cpus() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// Physical memory in MiB.
pub fn physical_memory_mb() -> u64 {
    let info = rustix::system::sysinfo();
    (info.totalram as u64).saturating_mul(u64::from(info.mem_unit)) / (1024 * 1024)
}
