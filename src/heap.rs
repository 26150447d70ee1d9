//! Giving the heap a large job freed back to the system. glibc keeps freed memory in its
//! arenas for reuse, so a daemon that imported a nation's registry or years of submissions
//! once would go on holding ~50 MiB it no longer uses; [`trim`] hands the whole free pages
//! back (`malloc_trim`). Elsewhere than glibc it does nothing.
#![allow(unsafe_code)]

/// Returns the free pages of every malloc arena to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn trim() {
    // SAFETY: malloc_trim takes no pointers; it only releases memory malloc holds free, under
    // each arena's own lock, and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Returns the free pages of every malloc arena to the system (here: nothing to do).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() {}
