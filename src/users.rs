//! User names and ids, through the system's user database (NSS included).

/// The name of `uid`, or the number itself when it has no name.
pub fn user_name(uid: u32) -> String {
    uzers::get_user_by_uid(uid)
        .map(|user| user.name().to_string_lossy().into_owned())
        .unwrap_or_else(|| uid.to_string())
}

/// The uid of a user given by name or number; `None` for an unknown name.
pub fn uid_of(user: &str) -> Option<u32> {
    user.parse()
        .ok()
        .or_else(|| uzers::get_user_by_name(user).map(|u| u.uid()))
}

/// The uid of the calling process.
pub fn current_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// The name of a group, or its number when it has none.
pub fn group_name(gid: u32) -> String {
    uzers::get_group_by_gid(gid)
        .map(|group| group.name().to_string_lossy().into_owned())
        .unwrap_or_else(|| gid.to_string())
}

/// The gid of the calling process.
pub fn current_gid() -> u32 {
    rustix::process::getgid().as_raw()
}

/// The names of the groups `uid` is in: its primary group `gid` and the
/// supplementary ones the group database lists for it.
pub fn group_names(uid: u32, gid: u32) -> Vec<String> {
    let mut names = vec![group_name(gid)];
    if let Some(user) = uzers::get_user_by_uid(uid)
        && let Some(groups) = uzers::get_user_groups(user.name(), gid)
    {
        names.extend(
            groups
                .iter()
                .map(|group| group.name().to_string_lossy().into_owned()),
        );
    }
    names
}
