//! Asking the processor to load memory before it is needed. The engine
//! reads a few scattered cache lines per event (the member-id table, the
//! member); with many members each is a wait for main memory. Applying a
//! batch, it asks for the lines of events a little ahead, so that those
//! waits overlap instead of following one another.

/// Starts loading the cache line that holds `value`, without waiting.
#[inline(always)]
pub fn prefetch<T>(value: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it reads nothing the program
    // sees and never faults, whatever the address; SSE, which it needs,
    // is part of every x86-64 processor.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(value.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
