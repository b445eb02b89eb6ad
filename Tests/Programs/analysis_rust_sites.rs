// Rust allocation sites the analysis tests know by their marker comments: a Vec buffer, boxes and a
// String, all through Rust's allocator plumbing (__rust_alloc, alloc::raw_vec, ...). rustc mangles
// this crate's symbols with the legacy scheme and its std with v0, so both demanglers are exercised.
use std::hint::black_box;

#[inline(never)]
fn make_buffer() -> Vec<u64> {
    Vec::with_capacity(512) // SITE:vec
}

#[inline(never)]
fn make_boxes(count: usize) -> Vec<Box<[u8; 48]>> {
    let mut boxes = Vec::with_capacity(count);
    for _ in 0..count {
        boxes.push(Box::new([7u8; 48])); // SITE:box
    }
    boxes
}

struct Registry {
    names: Vec<String>,
}

impl Registry {
    #[inline(never)]
    fn add(&mut self, index: usize) {
        self.names.push(format!("a registry entry with a long name {:04}", index)); // SITE:string
    }
}

extern "C" {
    fn dlsym(handle: *mut std::ffi::c_void, symbol: *const std::ffi::c_char) -> *mut std::ffi::c_void;
}

fn main() {
    let buffer = make_buffer();
    let boxes = make_boxes(10);
    let mut registry = Registry { names: Vec::with_capacity(8) };
    for index in 0..8 {
        registry.add(index);
    }
    unsafe {
        let symbol = dlsym(std::ptr::null_mut(), b"heapsnap_snapshot\0".as_ptr() as *const std::ffi::c_char);
        if !symbol.is_null() {
            let snapshot: extern "C" fn(*const std::ffi::c_char) -> i32 = std::mem::transmute(symbol);
            snapshot(std::ptr::null());
        }
    }
    black_box((&buffer, &boxes, &registry.names));
    println!("KEPT {} {} {}", buffer.capacity(), boxes.len(), registry.names.len());
}
