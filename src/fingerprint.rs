//! Type fingerprints: every message carries one, so receiving it as a type
//! the sender did not send is an [`Error::TypeMismatch`](crate::Error), never garbage.
//!
//! A value's fingerprint names the shape of its serde encoding, not its exact
//! Rust type: borrowed and owned forms encode the same, so `&str`, `str` and
//! `String` share one fingerprint, as do `&[T]`, `[T]` and `Vec<T>`, and a
//! program can send `"hello"` and receive a `String`. Fingerprints are the
//! same in every process built from the same code.

/// FNV-1a of `kind` then `name`: tiny, stable, good enough to tell types apart.
fn fingerprint(kind: &str, name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in kind.bytes().chain(name.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Fingerprint of a serde value of type `T`.
pub(crate) fn value_type_tag<T: ?Sized>() -> u64 {
    let name = std::any::type_name::<T>();
    // Rewriting the name costs more than a small message's whole trip, so
    // each type's tag is worked out once per thread, keyed by where its
    // (static) name lives: the same text at another place only misses.
    let key = (name.as_ptr() as usize, name.len());
    VALUE_TAGS.with(|tags| {
        let mut tags = tags.borrow_mut();
        if let Some(&(_, tag)) = tags.iter().find(|(known, _)| *known == key) {
            return tag;
        }
        let tag = fingerprint("value:", &encoding_name(name));
        if tags.len() < VALUE_TAG_CACHE {
            tags.push((key, tag));
        }
        tag
    })
}

/// How many types' value tags a thread remembers (programs send few types).
const VALUE_TAG_CACHE: usize = 64;

thread_local! {
    static VALUE_TAGS: std::cell::RefCell<Vec<((usize, usize), u64)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Fingerprint of a slice message with elements of type `T`.
pub(crate) fn slice_type_tag<T>() -> u64 {
    fingerprint("slice:", std::any::type_name::<T>())
}

/// A type name with the distinctions serde's encoding does not make removed:
/// references, `String` versus `str`, `Vec<T>` versus `[T]`.
fn encoding_name(type_name: &str) -> String {
    const VEC: &str = "alloc::vec::Vec<";
    let name = type_name
        .replace("&mut ", "")
        .replace('&', "")
        .replace("alloc::string::String", "str");
    // Vec<T> → [T]: rewrite the opening and its matching closing bracket.
    let mut out = String::with_capacity(name.len());
    let mut closers = Vec::new();
    let mut rest = name.as_str();
    while let Some(c) = rest.chars().next() {
        if rest.starts_with(VEC) {
            out.push('[');
            closers.push(']');
            rest = &rest[VEC.len()..];
            continue;
        }
        match c {
            '<' => {
                out.push('<');
                closers.push('>');
            }
            '>' => out.push(closers.pop().unwrap_or('>')),
            _ => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_and_owned_forms_share_a_fingerprint() {
        assert_eq!(value_type_tag::<str>(), value_type_tag::<String>());
        assert_eq!(value_type_tag::<&str>(), value_type_tag::<String>());
        assert_eq!(value_type_tag::<[u8]>(), value_type_tag::<Vec<u8>>());
        assert_eq!(
            value_type_tag::<(&str, Vec<&[i32]>)>(),
            value_type_tag::<(String, Vec<Vec<i32>>)>()
        );
        assert_eq!(
            value_type_tag::<Option<Vec<(String, u8)>>>(),
            value_type_tag::<Option<&[(&str, u8)]>>()
        );
    }

    #[test]
    fn different_encodings_have_different_fingerprints() {
        assert_ne!(value_type_tag::<u32>(), value_type_tag::<String>());
        assert_ne!(value_type_tag::<Vec<u8>>(), value_type_tag::<[u8; 4]>());
        assert_ne!(value_type_tag::<Vec<u8>>(), value_type_tag::<Vec<u16>>());
        assert_ne!(value_type_tag::<u64>(), slice_type_tag::<u64>());
    }

    #[test]
    fn generic_brackets_stay_matched() {
        assert_eq!(
            encoding_name("core::option::Option<alloc::vec::Vec<alloc::vec::Vec<u8>>>"),
            "core::option::Option<[[u8]]>"
        );
    }
}
