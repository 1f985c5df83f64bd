//! One GPU of the node as the API describes it: the ordinal its vendor's
//! runtime knows it by, what it is, and the device node a job opens.
//!
//! The daemon finds these at start-up (`daemon::gpus`); `GET /v1/node` and
//! `GET /v1/config` carry them, and Slurm's GRES type (`gpu:h200:1`) is
//! derived from the model here so that every side names it the same way.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who made a GPU, which decides the variable that hands it to a job
/// (`CUDA_VISIBLE_DEVICES` or `ROCR_VISIBLE_DEVICES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GpuVendor {
    Nvidia,
    Amd,
    /// Offered by `--gpus` without being found on the machine.
    Unknown,
}

/// One GPU the node offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Gpu {
    /// The index the vendor's runtime and tools use (`nvidia-smi`'s index,
    /// ROCm's ordinal): what a job sees in `CUDA_VISIBLE_DEVICES`.
    pub ordinal: u32,
    pub vendor: GpuVendor,
    /// The marketing name, e.g. `NVIDIA H200`, when the driver says it.
    #[serde(default)]
    pub model: Option<String>,
    /// The driver's unique id, e.g. `GPU-5c1e7f0a-...`, when known.
    #[serde(default)]
    pub uuid: Option<String>,
    /// Memory on the device in MiB, when known.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// The device node a job needs to use it (`/dev/nvidia0`,
    /// `/dev/dri/renderD128`); `None` for a GPU that was configured, not found.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub device: Option<PathBuf>,
}

impl Gpu {
    /// A GPU offered by `--gpus` that the daemon did not find: nothing is
    /// known about it but its ordinal.
    pub fn configured(ordinal: u32) -> Gpu {
        Gpu {
            ordinal,
            vendor: GpuVendor::Unknown,
            model: None,
            uuid: None,
            memory_mb: None,
            device: None,
        }
    }

    /// Slurm's GRES type for this GPU (`h200`), `None` when the model is unknown.
    pub fn gres_type(&self) -> Option<String> {
        self.model.as_deref().and_then(gres_type)
    }
}

/// The GRES type Slurm sites name a model by: its last word, lowercased
/// (`NVIDIA H200` → `h200`, `AMD Instinct MI300X` → `mi300x`). Characters
/// that would break a GRES string (`:`, `,`, `(`) are left out; a model
/// with nothing left has no type.
pub fn gres_type(model: &str) -> Option<String> {
    let word: String = model
        .split_whitespace()
        .next_back()?
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect::<String>()
        .to_ascii_lowercase();
    (!word.is_empty()).then_some(word)
}

/// One line's worth about a GPU for logs and `ccontrol show config`:
/// `0 (NVIDIA H200, GPU-5c1e..., /dev/nvidia0)`, or `2 (configured)`.
impl fmt::Display for Gpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut facts: Vec<String> = Vec::new();
        match (&self.model, self.vendor) {
            (Some(model), _) => facts.push(model.clone()),
            (None, GpuVendor::Nvidia) => facts.push("NVIDIA GPU".into()),
            (None, GpuVendor::Amd) => facts.push("AMD GPU".into()),
            (None, GpuVendor::Unknown) => {}
        }
        facts.extend(self.uuid.clone());
        facts.extend(self.device.as_ref().map(|d| d.display().to_string()));
        if facts.is_empty() {
            facts.push("configured".into());
        }
        write!(f, "{} ({})", self.ordinal, facts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_is_the_last_word_lowercased() {
        assert_eq!(gres_type("NVIDIA H200").as_deref(), Some("h200"));
        assert_eq!(
            gres_type("NVIDIA A100-SXM4-80GB").as_deref(),
            Some("a100-sxm4-80gb")
        );
        assert_eq!(gres_type("AMD Instinct MI300X").as_deref(), Some("mi300x"));
        assert_eq!(gres_type("Tesla T4:x").as_deref(), Some("t4x"));
        assert_eq!(gres_type("  "), None);
        assert_eq!(gres_type("NVIDIA ()"), None);
    }

    #[test]
    fn a_gpu_describes_itself_in_one_line() {
        let gpu = Gpu {
            ordinal: 0,
            vendor: GpuVendor::Nvidia,
            model: Some("NVIDIA H200".into()),
            uuid: Some("GPU-1234".into()),
            memory_mb: Some(143_771),
            device: Some("/dev/nvidia0".into()),
        };
        assert_eq!(gpu.to_string(), "0 (NVIDIA H200, GPU-1234, /dev/nvidia0)");
        assert_eq!(gpu.gres_type().as_deref(), Some("h200"));
        assert_eq!(Gpu::configured(2).to_string(), "2 (configured)");
        assert_eq!(Gpu::configured(2).gres_type(), None);
        let amd = Gpu {
            vendor: GpuVendor::Amd,
            model: None,
            uuid: None,
            device: Some("/dev/dri/renderD128".into()),
            ..gpu
        };
        assert_eq!(amd.to_string(), "0 (AMD GPU, /dev/dri/renderD128)");
    }

    #[test]
    fn vendors_are_lowercase_on_the_wire() {
        let json = serde_json::to_string(&Gpu::configured(1)).expect("serializes");
        assert_eq!(
            json,
            r#"{"ordinal":1,"vendor":"unknown","model":null,"uuid":null,"memory_mb":null,"device":null}"#
        );
        let back: Gpu = serde_json::from_str(r#"{"ordinal":1,"vendor":"amd"}"#).expect("parses");
        assert_eq!(back.vendor, GpuVendor::Amd);
    }
}
