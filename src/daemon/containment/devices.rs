//! Keeping a job to its own GPUs' device nodes: the rules of the v1
//! `devices` controller, and on cgroup v2, which has no such controller,
//! a small BPF program (`BPF_PROG_TYPE_CGROUP_DEVICE`) attached to the
//! job's cgroup that refuses the other GPUs' nodes, as systemd's
//! `DeviceAllow=` and runc do.
//!
//! The program is a handful of instructions built here rather than
//! compiled C loaded through a BPF library: it compares the device's type,
//! major and minor with each denied node, which needs no maps, no helpers
//! and no BTF, on every kernel since 4.15.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A device node, by what the kernel checks: its type and numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub block: bool,
    pub major: u32,
    pub minor: u32,
}

impl Device {
    /// The device `path` names; `None` for anything but a device node.
    pub fn of(path: &Path) -> Option<Device> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let meta = std::fs::metadata(path).ok()?;
        let block = meta.file_type().is_block_device();
        if !block && !meta.file_type().is_char_device() {
            return None;
        }
        Some(Device {
            block,
            major: rustix::fs::major(meta.rdev()),
            minor: rustix::fs::minor(meta.rdev()),
        })
    }

    /// The v1 devices rule for every access to it: `c 195:0 rwm`.
    pub fn rule(&self) -> String {
        let kind = if self.block { 'b' } else { 'c' };
        format!("{kind} {}:{} rwm", self.major, self.minor)
    }
}

/// One BPF instruction as the kernel reads it (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Insn {
    code: u8,
    /// dst in the low four bits, src in the high four.
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// `dst = *(u32 *)(src + off)`
const LDX_W: u8 = 0x61;
/// `dst &= imm` (32-bit)
const AND32_K: u8 = 0x54;
/// `if dst != imm goto +off`
const JNE_K: u8 = 0x55;
/// `dst = imm`
const MOV64_K: u8 = 0xb7;
const EXIT: u8 = 0x95;
/// `BPF_DEVCG_DEV_BLOCK`, `BPF_DEVCG_DEV_CHAR`
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// The program: 0 (refused) for any access to a device in `deny`, 1 for
/// everything else. Its context is `struct bpf_cgroup_dev_ctx`: the access
/// and type in one word (type in the low 16 bits), then major, then minor.
fn program(deny: &[Device]) -> Vec<Insn> {
    let mut code = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(AND32_K, 2, 0, 0, 0xffff),
        insn(LDX_W, 3, 1, 4, 0),
        insn(LDX_W, 4, 1, 8, 0),
    ];
    for device in deny {
        let kind = if device.block { DEV_BLOCK } else { DEV_CHAR };
        code.extend([
            insn(JNE_K, 2, 0, 4, kind),
            insn(JNE_K, 3, 0, 3, device.major as i32),
            insn(JNE_K, 4, 0, 2, device.minor as i32),
            insn(MOV64_K, 0, 0, 0, 0),
            insn(EXIT, 0, 0, 0, 0),
        ]);
    }
    code.extend([insn(MOV64_K, 0, 0, 0, 1), insn(EXIT, 0, 0, 0, 0)]);
    code
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Other programs in the hierarchy (systemd's `DeviceAllow=`) keep
/// running: every one must allow an access.
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The leading fields of `union bpf_attr` for `BPF_PROG_LOAD`; the rest
/// stays zero, as the kernel requires of fields a caller does not use.
#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    rest: [u64; 8],
}

/// The fields of `union bpf_attr` for `BPF_PROG_ATTACH`.
#[repr(C)]
#[derive(Default)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
    rest: [u32; 11],
}

#[allow(unsafe_code)]
fn bpf<T>(command: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a whole, initialised `union bpf_attr` prefix of the
    // size passed; the kernel reads it and, for these commands, writes
    // nothing back into it.
    let done = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            command,
            std::ptr::from_mut(attr),
            std::mem::size_of::<T>(),
        )
    };
    if done < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(done)
    }
}

/// Loads the program that refuses `deny`.
#[allow(unsafe_code)]
fn load(deny: &[Device]) -> io::Result<OwnedFd> {
    let code = program(deny);
    let license = c"MIT";
    let mut name = [0u8; 16];
    name[..10].copy_from_slice(b"conductor\0");
    let mut attr = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: code.len() as u32,
        insns: code.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        ..ProgLoad::default()
    };
    let fd = bpf(BPF_PROG_LOAD, &mut attr)?;
    // SAFETY: BPF_PROG_LOAD returned a new descriptor that nothing owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Whether this process may load and attach device programs (root, or
/// CAP_BPF with CAP_SYS_ADMIN): asked once at start-up.
pub fn programs_allowed() -> bool {
    load(&[]).is_ok()
}

/// Attaches to the cgroup whose directory is `cgroup` a program refusing
/// every access to `deny`. The attachment lives as long as the cgroup,
/// whatever becomes of the descriptors.
pub fn deny_in_v2(cgroup: BorrowedFd<'_>, deny: &[Device]) -> io::Result<()> {
    let program = load(deny)?;
    let mut attr = ProgAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..ProgAttach::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_type_and_numbers() {
        let gpu = Device {
            block: false,
            major: 195,
            minor: 2,
        };
        assert_eq!(gpu.rule(), "c 195:2 rwm");
        assert_eq!(
            Device::of(Path::new("/dev/null")),
            Some(Device {
                block: false,
                major: 1,
                minor: 3
            })
        );
        assert_eq!(Device::of(Path::new("/etc/passwd")), None);
    }

    #[test]
    fn the_program_jumps_past_each_device_it_does_not_match() {
        let deny = [
            Device {
                block: false,
                major: 195,
                minor: 0,
            },
            Device {
                block: true,
                major: 8,
                minor: 1,
            },
        ];
        let code = program(&deny);
        assert_eq!(code.len(), 4 + 5 * deny.len() + 2);
        // Each device's block: three tests that skip to the next block,
        // then a refusal.
        assert_eq!(code[4], insn(JNE_K, 2, 0, 4, DEV_CHAR));
        assert_eq!(code[5], insn(JNE_K, 3, 0, 3, 195));
        assert_eq!(code[6], insn(JNE_K, 4, 0, 2, 0));
        assert_eq!(code[7], insn(MOV64_K, 0, 0, 0, 0));
        assert_eq!(code[9], insn(JNE_K, 2, 0, 4, DEV_BLOCK));
        // Nothing matched: allowed.
        assert_eq!(code[code.len() - 2], insn(MOV64_K, 0, 0, 0, 1));
        assert_eq!(code[code.len() - 1].code, EXIT);
    }
}
