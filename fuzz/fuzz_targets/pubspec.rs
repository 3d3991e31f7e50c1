//! `pubspec.yaml` bytes as an upload or a tag delivers them: parsing must never panic,
//! and what it accepts must be what a version listing can serve.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tagpub::package::pubspec;

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = pubspec::parse(data) else {
        return;
    };
    // The listing serves `json`; `name` and `version` are read from it.
    let Value::Object(fields) = &spec.json else {
        panic!("accepted a pubspec that is not a map: {}", spec.json);
    };
    assert_eq!(
        fields.get("name").and_then(Value::as_str),
        Some(&*spec.name)
    );
    assert_eq!(
        fields.get("version").and_then(Value::as_str),
        Some(&*spec.version)
    );
    // Serving it must work, and a client reading it back must see the same document.
    let served = serde_json::to_string(&spec.json).expect("the pubspec serialises");
    let reread: Value = serde_json::from_str(&served).expect("the served pubspec parses");
    assert_eq!(reread, spec.json);
    for forbidden in spec.forbidden_dependencies() {
        assert!(!forbidden.message.is_empty());
        assert!(fields["dependencies"].get(&forbidden.name).is_some());
    }
});
