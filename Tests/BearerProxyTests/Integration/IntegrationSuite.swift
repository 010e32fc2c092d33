import Testing

/// Every integration suite nests in this one, so they run one after another (ports, CPU and
/// timing stay predictable) and `swift test --filter Integration` selects exactly them.
@Suite(.serialized) enum Integration {}
