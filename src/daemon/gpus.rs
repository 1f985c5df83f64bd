//! The node's GPUs: found at start-up, narrowed or made up by `--gpus`,
//! and named the way Slurm names them.
//!
//! NVIDIA GPUs are found through `nvidia-smi`, else the driver's files
//! under `/proc/driver/nvidia/gpus`, else the `/dev/nvidia<N>` nodes; AMD
//! GPUs through `/dev/kfd` and the DRM render nodes whose PCI vendor is
//! AMD's. Finding nothing is not an error: most machines have no GPU.
//!
//! The daemon keeps the result as a list; the tracker books GPUs by their
//! index in it (ids `0..count`), and jobs see the ordinals of the entries
//! (`--gpus 0,2` gives tracker ids 0 and 1, ordinals 0 and 2). Every
//! reader here takes a root directory or a command's output, so the tests
//! drive it with fixture text and temporary trees.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::error::Error;
pub use crate::protocol::{Gpu, GpuVendor};

/// How long `nvidia-smi` may take: a driver in a bad state can hang it,
/// and the daemon must start all the same.
const NVIDIA_SMI_TIMEOUT: Duration = Duration::from_secs(10);

/// The most GPUs `--gpus` may offer: a typo like `--gpus 20000000` would
/// otherwise book memory for millions of ids.
pub const MAX_GPUS: u32 = 4096;

/// AMD's PCI vendor id, as sysfs writes it.
const AMD_PCI_VENDOR: &str = "0x1002";

/// What `conductord --gpus` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuSelection {
    /// `--gpus 2`: the first two found, made up where fewer are found.
    Count(u32),
    /// `--gpus 0,2` (or `0-3`): these ordinals, found or made up; sorted.
    Ordinals(Vec<u32>),
}

impl FromStr for GpuSelection {
    type Err = Error;

    /// A bare number is a count; anything with a comma or a dash is a list
    /// of ordinals and ranges (a single ordinal is the range `3-3`).
    fn from_str(text: &str) -> Result<GpuSelection, Error> {
        // The flag or key it came from says where: the caller adds it.
        let invalid = |why: &str| Error::Invalid(why.to_string());
        let expected = "expected a count (2) or GPU ordinals (0,2 or 0-3)";
        let number = |word: &str| {
            let word = word.trim();
            if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(expected));
            }
            word.parse::<u32>().map_err(|_| invalid("number too large"))
        };
        if !text.contains([',', '-']) {
            let count = number(text)?;
            if count > MAX_GPUS {
                return Err(invalid(&format!("at most {MAX_GPUS} GPUs")));
            }
            return Ok(GpuSelection::Count(count));
        }
        let mut ordinals = BTreeSet::new();
        for item in text.split(',') {
            let (first, last) = match item.split_once('-') {
                Some((first, last)) => (number(first)?, number(last)?),
                None => {
                    let ordinal = number(item)?;
                    (ordinal, ordinal)
                }
            };
            if first > last {
                return Err(invalid(&format!(
                    "the range {} runs backwards",
                    item.trim()
                )));
            }
            if u64::from(last - first) + ordinals.len() as u64 >= u64::from(MAX_GPUS) {
                return Err(invalid(&format!("at most {MAX_GPUS} GPUs")));
            }
            for ordinal in first..=last {
                if !ordinals.insert(ordinal) {
                    return Err(invalid(&format!("GPU {ordinal} is named twice")));
                }
            }
        }
        Ok(GpuSelection::Ordinals(ordinals.into_iter().collect()))
    }
}

/// The GPUs to offer: every one found without `--gpus`; else the first
/// `N` found, with made-up ones on the lowest free ordinals where fewer
/// are found (which is how tests offer GPUs on a machine without any);
/// else the listed ordinals, each the GPU found with it or a made-up one.
pub fn select(detected: Vec<Gpu>, selection: Option<&GpuSelection>) -> Vec<Gpu> {
    match selection {
        None => detected,
        Some(GpuSelection::Count(count)) => {
            let count = *count as usize;
            let mut chosen: Vec<Gpu> = detected.into_iter().take(count).collect();
            let mut next = 0;
            while chosen.len() < count {
                if chosen.iter().all(|gpu| gpu.ordinal != next) {
                    chosen.push(Gpu::configured(next));
                }
                next += 1;
            }
            chosen
        }
        Some(GpuSelection::Ordinals(ordinals)) => ordinals
            .iter()
            .map(|&ordinal| {
                detected
                    .iter()
                    .find(|gpu| gpu.ordinal == ordinal)
                    .cloned()
                    .unwrap_or_else(|| Gpu::configured(ordinal))
            })
            .collect(),
    }
}

/// The GPUs of this machine.
pub fn detect() -> Vec<Gpu> {
    detect_under(Path::new("/"), nvidia_smi().as_deref())
}

/// The GPUs under `root` (`/` on a real machine), given what
/// `nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader`
/// printed, if it ran and succeeded. NVIDIA GPUs come first, then AMD ones.
pub fn detect_under(root: &Path, nvidia_smi: Option<&str>) -> Vec<Gpu> {
    let from_proc = nvidia_from_proc(root);
    let mut gpus = match nvidia_smi.map(parse_nvidia_smi) {
        Some(mut listed) if !listed.is_empty() => {
            // nvidia-smi does not say the device minor; the driver's files
            // do, by uuid. Without them the index is the usual minor.
            for gpu in &mut listed {
                let minor = from_proc
                    .iter()
                    .find(|known| known.uuid.is_some() && known.uuid == gpu.uuid)
                    .and_then(|known| known.device.clone());
                gpu.device = minor.or_else(|| Some(nvidia_node(gpu.ordinal)));
            }
            listed
        }
        _ if !from_proc.is_empty() => from_proc,
        _ => nvidia_from_dev(root),
    };
    gpus.extend(amd_from_sysfs(root));
    gpus
}

/// Parses `nvidia-smi --query-gpu=index,uuid,name,memory.total
/// --format=csv,noheader` (`0, GPU-5c1e..., NVIDIA H200, 143771 MiB`).
/// Lines that do not parse are skipped; `[N/A]` values are unknown.
pub fn parse_nvidia_smi(text: &str) -> Vec<Gpu> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let [index, uuid, name @ .., memory] = fields.as_slice() else {
                return None;
            };
            if name.is_empty() {
                return None;
            }
            let known = |value: &str| {
                (!value.is_empty() && !value.starts_with('[')).then(|| value.to_string())
            };
            Some(Gpu {
                ordinal: index.parse().ok()?,
                vendor: GpuVendor::Nvidia,
                model: known(&name.join(", ")),
                uuid: known(uuid),
                memory_mb: memory
                    .strip_suffix("MiB")
                    .and_then(|n| n.trim().parse().ok()),
                device: None,
            })
        })
        .collect()
}

/// What one `/proc/driver/nvidia/gpus/<pci>/information` file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvidiaInformation {
    pub model: Option<String>,
    pub minor: Option<u32>,
    pub uuid: Option<String>,
}

/// Parses the driver's `information` file: `Key: value` lines, of which
/// `Model:`, `GPU UUID:` and the minor number (`Device Minor:`, or
/// `Minor Number:` in older drivers) matter here.
pub fn parse_nvidia_information(text: &str) -> NvidiaInformation {
    let mut info = NvidiaInformation {
        model: None,
        minor: None,
        uuid: None,
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "Model" if !value.is_empty() => info.model = Some(value.to_string()),
            "GPU UUID" if !value.is_empty() => info.uuid = Some(value.to_string()),
            "Device Minor" | "Minor Number" => info.minor = value.parse().ok(),
            _ => {}
        }
    }
    info
}

/// NVIDIA GPUs from the driver's `/proc` files, in PCI order (the order
/// `nvidia-smi` numbers them in), each on the node of its minor number.
fn nvidia_from_proc(root: &Path) -> Vec<Gpu> {
    let dir = root.join("proc/driver/nvidia/gpus");
    let mut infos: Vec<(String, NvidiaInformation)> = entries(&dir)
        .into_iter()
        .filter_map(|(name, path)| {
            let text = fs::read_to_string(path.join("information")).ok()?;
            Some((name, parse_nvidia_information(&text)))
        })
        .collect();
    infos.sort_by(|a, b| a.0.cmp(&b.0));
    infos
        .into_iter()
        .zip(0..)
        .map(|((_, info), ordinal)| Gpu {
            ordinal,
            vendor: GpuVendor::Nvidia,
            model: info.model,
            uuid: info.uuid,
            memory_mb: None,
            device: Some(nvidia_node(info.minor.unwrap_or(ordinal))),
        })
        .collect()
}

/// NVIDIA GPUs from the `/dev/nvidia<N>` nodes alone (not `nvidiactl`,
/// `nvidia-uvm`): nothing known but their number.
fn nvidia_from_dev(root: &Path) -> Vec<Gpu> {
    let mut minors: Vec<u32> = entries(&root.join("dev"))
        .into_iter()
        .filter_map(|(name, _)| {
            let digits = name.strip_prefix("nvidia")?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok()
        })
        .collect();
    minors.sort_unstable();
    minors
        .into_iter()
        .zip(0..)
        .map(|(minor, ordinal)| Gpu {
            vendor: GpuVendor::Nvidia,
            device: Some(nvidia_node(minor)),
            ..Gpu::configured(ordinal)
        })
        .collect()
}

/// AMD GPUs: ROCm needs `/dev/kfd`; each DRM render node whose PCI vendor
/// is AMD's is one GPU, numbered in render-node order as ROCm numbers them.
fn amd_from_sysfs(root: &Path) -> Vec<Gpu> {
    if !root.join("dev/kfd").exists() {
        return Vec::new();
    }
    let mut renders: Vec<(u32, PathBuf)> = entries(&root.join("sys/class/drm"))
        .into_iter()
        .filter_map(|(name, path)| Some((name.strip_prefix("renderD")?.parse().ok()?, path)))
        .filter(|(_, path)| {
            read_trimmed(&path.join("device/vendor")).as_deref() == Some(AMD_PCI_VENDOR)
        })
        .collect();
    renders.sort_unstable();
    renders
        .into_iter()
        .zip(0..)
        .map(|((minor, path), ordinal)| {
            let device = path.join("device");
            Gpu {
                ordinal,
                vendor: GpuVendor::Amd,
                model: read_trimmed(&device.join("product_name")),
                uuid: read_trimmed(&device.join("unique_id")),
                memory_mb: read_trimmed(&device.join("mem_info_vram_total"))
                    .and_then(|bytes| bytes.parse::<u64>().ok())
                    .map(|bytes| bytes / (1024 * 1024)),
                device: Some(PathBuf::from(format!("/dev/dri/renderD{minor}"))),
            }
        })
        .collect()
}

/// Slurm's GRES string for these GPUs: `gpu:h200:2` where the model is
/// known, `gpu:2` where not, one entry per type in the order first seen
/// (`gpu:h200:1,gpu:1`); `None` without GPUs.
pub fn gres(gpus: &[Gpu]) -> Option<String> {
    let mut counts: Vec<(Option<String>, usize)> = Vec::new();
    for gpu in gpus {
        let kind = gpu.gres_type();
        match counts.iter_mut().find(|(seen, _)| *seen == kind) {
            Some((_, count)) => *count += 1,
            None => counts.push((kind, 1)),
        }
    }
    let entries: Vec<String> = counts
        .into_iter()
        .map(|(kind, count)| match kind {
            Some(kind) => format!("gpu:{kind}:{count}"),
            None => format!("gpu:{count}"),
        })
        .collect();
    (!entries.is_empty()).then(|| entries.join(","))
}

/// The GPUs behind a job's tracker ids. An id beyond the list cannot come
/// from the tracker, which counts the list; should one appear, it stands
/// for a made-up GPU of that ordinal, with no device node to allow.
pub fn allocated(gpus: &[Gpu], ids: &[u32]) -> Vec<Gpu> {
    ids.iter()
        .map(|&id| {
            gpus.get(id as usize)
                .cloned()
                .unwrap_or_else(|| Gpu::configured(id))
        })
        .collect()
}

/// The GPUs with the device nodes `--gpu-files` names, the i-th file the
/// i-th GPU's; no files leaves them as they are. Each must be a device
/// node, one per GPU.
pub fn with_files(mut gpus: Vec<Gpu>, files: &[PathBuf]) -> Result<Vec<Gpu>, Error> {
    if files.is_empty() {
        return Ok(gpus);
    }
    if files.len() != gpus.len() {
        return Err(Error::Invalid(format!(
            "--gpu-files names {} files for {} GPUs",
            files.len(),
            gpus.len()
        )));
    }
    for (gpu, file) in gpus.iter_mut().zip(files) {
        if crate::daemon::containment::Device::of(file).is_none() {
            return Err(Error::Invalid(format!(
                "--gpu-files {}: not a device node",
                file.display()
            )));
        }
        gpu.device = Some(file.clone());
    }
    Ok(gpus)
}

/// The device nodes of a job's own GPUs, for a devices cgroup that lets
/// the job open only those; made-up GPUs have none. The vendors' shared
/// control nodes (`/dev/nvidiactl`, `/dev/nvidia-uvm`, `/dev/kfd`) are
/// not in it: they are not one GPU's, see [`control_nodes`].
pub fn job_device_nodes(gpus: &[Gpu], ids: &[u32]) -> Vec<PathBuf> {
    allocated(gpus, ids)
        .into_iter()
        .filter_map(|gpu| gpu.device)
        .collect()
}

/// The device nodes of the node's GPUs that `ids` does not hold: what a
/// job's devices cgroup denies.
pub fn other_device_nodes(gpus: &[Gpu], ids: &[u32]) -> Vec<PathBuf> {
    gpus.iter()
        .enumerate()
        .filter(|(index, _)| !ids.iter().any(|&id| id as usize == *index))
        .filter_map(|(_, gpu)| gpu.device.clone())
        .collect()
}

/// The shared control nodes that exist under `root` for the vendors in
/// `gpus`: every GPU job of that vendor needs them besides its own GPUs.
pub fn control_nodes(root: &Path, gpus: &[Gpu]) -> Vec<PathBuf> {
    let mut names: Vec<&str> = Vec::new();
    if gpus.iter().any(|gpu| gpu.vendor == GpuVendor::Nvidia) {
        names.extend([
            "nvidiactl",
            "nvidia-uvm",
            "nvidia-uvm-tools",
            "nvidia-modeset",
        ]);
    }
    if gpus.iter().any(|gpu| gpu.vendor == GpuVendor::Amd) {
        names.push("kfd");
    }
    names
        .into_iter()
        .filter(|name| root.join("dev").join(name).exists())
        .map(|name| Path::new("/dev").join(name))
        .collect()
}

/// Runs `nvidia-smi`'s query, bounded in time; `None` when it is absent,
/// fails or hangs.
fn nvidia_smi() -> Option<String> {
    let mut child = Command::new("nvidia-smi")
        .args([
            "--query-gpu=index,uuid,name,memory.total",
            "--format=csv,noheader",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + NVIDIA_SMI_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    // The query's output is a few lines: the pipe holds it all, so the
    // child could exit before it was read.
    let mut text = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut text).ok()?;
    Some(text)
}

fn nvidia_node(minor: u32) -> PathBuf {
    PathBuf::from(format!("/dev/nvidia{minor}"))
}

/// The entries of a directory as (name, path); none when it is unreadable.
fn entries(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(|entry| {
        let entry = entry.ok()?;
        Some((entry.file_name().into_string().ok()?, entry.path()))
    })
    .collect()
}

/// A sysfs attribute's text, trimmed; `None` when absent or empty.
fn read_trimmed(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_files_give_each_gpu_its_node_and_must_be_device_nodes() {
        let two = vec![Gpu::configured(0), Gpu::configured(1)];
        let files = [PathBuf::from("/dev/null"), PathBuf::from("/dev/zero")];
        let given = with_files(two.clone(), &files).expect("device nodes");
        assert_eq!(given[1].device.as_deref(), Some(Path::new("/dev/zero")));
        assert_eq!(with_files(two.clone(), &[]).expect("none"), two);
        let short = with_files(two.clone(), &files[..1]).expect_err("one file for two");
        assert_eq!(short.to_string(), "--gpu-files names 1 files for 2 GPUs");
        let plain = [PathBuf::from("/dev/null"), PathBuf::from("/etc/hostname")];
        let refused = with_files(two, &plain).expect_err("a plain file");
        assert_eq!(
            refused.to_string(),
            "--gpu-files /etc/hostname: not a device node"
        );
    }

    const SMI: &str = "\
0, GPU-5c1e7f0a-1111-2222-3333-444455556666, NVIDIA H200, 143771 MiB
1, GPU-77aa0000-1111-2222-3333-444455556666, NVIDIA H200, 143771 MiB
";

    const INFORMATION: &str = "\
Model: \t\t NVIDIA H200
IRQ:   \t\t 0
GPU UUID: \t GPU-77aa0000-1111-2222-3333-444455556666
Video BIOS: \t 96.00.74.00.0b
Bus Type: \t PCIe
Bus Location: \t 0000:18:00.0
Device Minor: \t 3
GPU Excluded:\t No
";

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        fs::create_dir_all(path.parent().expect("a parent")).expect("dirs");
        fs::write(path, text).expect("write");
    }

    fn nvidia(ordinal: u32, device: &str) -> Gpu {
        Gpu {
            vendor: GpuVendor::Nvidia,
            device: Some(device.into()),
            ..Gpu::configured(ordinal)
        }
    }

    #[test]
    fn nvidia_smi_lines_parse() {
        let gpus = parse_nvidia_smi(SMI);
        assert_eq!(gpus.len(), 2);
        assert_eq!(gpus[0].ordinal, 0);
        assert_eq!(gpus[0].vendor, GpuVendor::Nvidia);
        assert_eq!(gpus[0].model.as_deref(), Some("NVIDIA H200"));
        assert_eq!(
            gpus[0].uuid.as_deref(),
            Some("GPU-5c1e7f0a-1111-2222-3333-444455556666")
        );
        assert_eq!(gpus[0].memory_mb, Some(143_771));
        assert_eq!(gpus[1].ordinal, 1);
    }

    #[test]
    fn nvidia_smi_unknowns_and_garbage() {
        let text = "2, [N/A], Tesla T4, [N/A]\n\
                    NVIDIA-SMI has failed because it couldn't communicate with the driver\n\
                    x, GPU-1, A, 1 MiB\n\
                    \n\
                    3, GPU-3, Odd, Name, 80 MiB\n";
        let gpus = parse_nvidia_smi(text);
        assert_eq!(gpus.len(), 2, "{gpus:?}");
        assert_eq!(gpus[0].ordinal, 2);
        assert_eq!(gpus[0].uuid, None);
        assert_eq!(gpus[0].memory_mb, None);
        assert_eq!(gpus[0].model.as_deref(), Some("Tesla T4"));
        // A name with a comma keeps it.
        assert_eq!(gpus[1].model.as_deref(), Some("Odd, Name"));
        assert_eq!(gpus[1].memory_mb, Some(80));
        assert!(parse_nvidia_smi("").is_empty());
    }

    #[test]
    fn the_drivers_information_file_parses() {
        let info = parse_nvidia_information(INFORMATION);
        assert_eq!(info.model.as_deref(), Some("NVIDIA H200"));
        assert_eq!(info.minor, Some(3));
        assert_eq!(
            info.uuid.as_deref(),
            Some("GPU-77aa0000-1111-2222-3333-444455556666")
        );
        let old = parse_nvidia_information("Model: Tesla K80\nMinor Number: 1\n");
        assert_eq!(old.minor, Some(1));
        assert_eq!(old.uuid, None);
    }

    #[test]
    fn nvidia_smi_wins_and_takes_minors_from_proc() {
        let root = tempfile::tempdir().expect("temp dir");
        write(
            root.path(),
            "proc/driver/nvidia/gpus/0000:18:00.0/information",
            INFORMATION,
        );
        let gpus = detect_under(root.path(), Some(SMI));
        assert_eq!(gpus.len(), 2);
        // The first is not in /proc: its index is its minor.
        assert_eq!(gpus[0].device, Some("/dev/nvidia0".into()));
        // The second's uuid says minor 3.
        assert_eq!(gpus[1].device, Some("/dev/nvidia3".into()));
        assert_eq!(gpus[1].memory_mb, Some(143_771));
    }

    #[test]
    fn without_nvidia_smi_proc_is_read_in_pci_order() {
        let root = tempfile::tempdir().expect("temp dir");
        write(
            root.path(),
            "proc/driver/nvidia/gpus/0000:3b:00.0/information",
            "Model: NVIDIA A100-SXM4-80GB\nGPU UUID: GPU-b\nDevice Minor: 1\n",
        );
        write(
            root.path(),
            "proc/driver/nvidia/gpus/0000:18:00.0/information",
            "Model: NVIDIA A100-SXM4-80GB\nGPU UUID: GPU-a\nDevice Minor: 0\n",
        );
        // nvidia-smi printed nothing usable: the driver's files count.
        let gpus = detect_under(root.path(), Some("No devices were found\n"));
        assert_eq!(gpus.len(), 2);
        assert_eq!(gpus[0].uuid.as_deref(), Some("GPU-a"));
        assert_eq!(gpus[0].ordinal, 0);
        assert_eq!(gpus[1].ordinal, 1);
        assert_eq!(gpus[1].device, Some("/dev/nvidia1".into()));
        assert_eq!(gpus[1].gres_type().as_deref(), Some("a100-sxm4-80gb"));
    }

    #[test]
    fn device_nodes_are_the_last_resort() {
        let root = tempfile::tempdir().expect("temp dir");
        for name in ["nvidia1", "nvidia0", "nvidiactl", "nvidia-uvm", "nvidia10x"] {
            write(root.path(), &format!("dev/{name}"), "");
        }
        let gpus = detect_under(root.path(), None);
        assert_eq!(
            gpus,
            vec![nvidia(0, "/dev/nvidia0"), nvidia(1, "/dev/nvidia1")]
        );
        assert_eq!(
            control_nodes(root.path(), &gpus),
            vec![
                PathBuf::from("/dev/nvidiactl"),
                PathBuf::from("/dev/nvidia-uvm")
            ]
        );
    }

    #[test]
    fn amd_gpus_are_render_nodes_of_amds_vendor_id() {
        let root = tempfile::tempdir().expect("temp dir");
        write(root.path(), "dev/kfd", "");
        write(
            root.path(),
            "sys/class/drm/renderD129/device/vendor",
            "0x1002\n",
        );
        write(
            root.path(),
            "sys/class/drm/renderD129/device/product_name",
            "AMD Instinct MI300X\n",
        );
        write(
            root.path(),
            "sys/class/drm/renderD129/device/mem_info_vram_total",
            "206141652992\n",
        );
        write(
            root.path(),
            "sys/class/drm/renderD128/device/vendor",
            "0x1002\n",
        );
        // An Intel render node and a card node are not AMD GPUs.
        write(
            root.path(),
            "sys/class/drm/renderD130/device/vendor",
            "0x8086\n",
        );
        write(root.path(), "sys/class/drm/card0/device/vendor", "0x1002\n");
        let gpus = detect_under(root.path(), None);
        assert_eq!(gpus.len(), 2, "{gpus:?}");
        assert_eq!(gpus[0].vendor, GpuVendor::Amd);
        assert_eq!(gpus[0].ordinal, 0);
        assert_eq!(gpus[0].device, Some("/dev/dri/renderD128".into()));
        assert_eq!(gpus[0].model, None);
        assert_eq!(gpus[1].ordinal, 1);
        assert_eq!(gpus[1].model.as_deref(), Some("AMD Instinct MI300X"));
        assert_eq!(gpus[1].memory_mb, Some(196_592));
        assert_eq!(gres(&gpus).as_deref(), Some("gpu:1,gpu:mi300x:1"));
        assert_eq!(
            control_nodes(root.path(), &gpus),
            vec![PathBuf::from("/dev/kfd")]
        );
    }

    #[test]
    fn amd_render_nodes_without_kfd_are_not_gpus() {
        let root = tempfile::tempdir().expect("temp dir");
        write(
            root.path(),
            "sys/class/drm/renderD128/device/vendor",
            "0x1002\n",
        );
        assert!(detect_under(root.path(), None).is_empty());
    }

    #[test]
    fn a_machine_without_gpus_has_none() {
        let root = tempfile::tempdir().expect("temp dir");
        assert!(detect_under(root.path(), None).is_empty());
        assert!(control_nodes(root.path(), &[]).is_empty());
        assert_eq!(gres(&[]), None);
    }

    #[test]
    fn selections_parse() {
        let parse = |text: &str| text.parse::<GpuSelection>();
        assert_eq!(parse("2").ok(), Some(GpuSelection::Count(2)));
        assert_eq!(parse("0").ok(), Some(GpuSelection::Count(0)));
        assert_eq!(parse("2,0").ok(), Some(GpuSelection::Ordinals(vec![0, 2])));
        assert_eq!(
            parse("0-2,5").ok(),
            Some(GpuSelection::Ordinals(vec![0, 1, 2, 5]))
        );
        assert_eq!(parse("3-3").ok(), Some(GpuSelection::Ordinals(vec![3])));
        for (text, message) in [
            ("two", "expected a count (2) or GPU ordinals (0,2 or 0-3)"),
            ("", "expected a count (2) or GPU ordinals (0,2 or 0-3)"),
            ("-1", "expected a count (2) or GPU ordinals (0,2 or 0-3)"),
            ("0,,2", "expected a count (2) or GPU ordinals (0,2 or 0-3)"),
            ("0,0", "GPU 0 is named twice"),
            ("0-2,1", "GPU 1 is named twice"),
            ("3-1", "the range 3-1 runs backwards"),
            ("5000", "at most 4096 GPUs"),
            ("0-4096", "at most 4096 GPUs"),
            ("99999999999", "number too large"),
        ] {
            let error = parse(text).expect_err(text);
            assert_eq!(error.to_string(), message);
        }
        assert!(parse("0-4095").is_ok());
    }

    #[test]
    fn a_count_takes_the_first_found_and_makes_up_the_rest() {
        let found = vec![nvidia(0, "/dev/nvidia0"), nvidia(1, "/dev/nvidia1")];
        assert_eq!(
            select(found.clone(), Some(&GpuSelection::Count(1))),
            vec![nvidia(0, "/dev/nvidia0")]
        );
        assert_eq!(select(found.clone(), None), found);
        assert!(select(found.clone(), Some(&GpuSelection::Count(0))).is_empty());
        assert_eq!(
            select(Vec::new(), Some(&GpuSelection::Count(2))),
            vec![Gpu::configured(0), Gpu::configured(1)]
        );
        // Made-up GPUs take ordinals no found one has.
        assert_eq!(
            select(
                vec![nvidia(1, "/dev/nvidia1")],
                Some(&GpuSelection::Count(3))
            ),
            vec![
                nvidia(1, "/dev/nvidia1"),
                Gpu::configured(0),
                Gpu::configured(2)
            ]
        );
    }

    #[test]
    fn ordinals_take_the_found_gpu_or_make_one_up() {
        let found = vec![nvidia(0, "/dev/nvidia0"), nvidia(1, "/dev/nvidia1")];
        assert_eq!(
            select(found, Some(&GpuSelection::Ordinals(vec![1, 2]))),
            vec![nvidia(1, "/dev/nvidia1"), Gpu::configured(2)]
        );
    }

    #[test]
    fn gres_counts_gpus_per_type() {
        let h200 = |ordinal| Gpu {
            model: Some("NVIDIA H200".into()),
            ..nvidia(ordinal, "/dev/nvidia0")
        };
        assert_eq!(gres(&[h200(0)]).as_deref(), Some("gpu:h200:1"));
        assert_eq!(gres(&[h200(0), h200(1)]).as_deref(), Some("gpu:h200:2"));
        assert_eq!(
            gres(&[Gpu::configured(0), Gpu::configured(2)]).as_deref(),
            Some("gpu:2")
        );
        assert_eq!(
            gres(&[h200(0), Gpu::configured(1)]).as_deref(),
            Some("gpu:h200:1,gpu:1")
        );
    }

    #[test]
    fn a_jobs_device_nodes_are_its_own_gpus() {
        let table = vec![
            nvidia(0, "/dev/nvidia0"),
            Gpu::configured(1),
            nvidia(2, "/dev/nvidia2"),
        ];
        assert_eq!(
            job_device_nodes(&table, &[0, 1]),
            vec![PathBuf::from("/dev/nvidia0")]
        );
        assert_eq!(
            other_device_nodes(&table, &[0, 1]),
            vec![PathBuf::from("/dev/nvidia2")]
        );
        assert!(job_device_nodes(&table, &[]).is_empty());
        assert_eq!(other_device_nodes(&table, &[]).len(), 2);
        // Tracker ids index the table; jobs see the ordinals.
        let ordinals: Vec<u32> = allocated(&table, &[2, 1])
            .iter()
            .map(|g| g.ordinal)
            .collect();
        assert_eq!(ordinals, vec![2, 1]);
        assert_eq!(allocated(&table, &[7]), vec![Gpu::configured(7)]);
    }
}
