import ReflexCore

/// The checks every sample store makes before it queues a batch, whatever the database.
enum SampleValidation {
    /// Why `batch` cannot be stored, or nil when it can: every value must be finite and every
    /// timestamp within years 1 to 9999 (``TimeBucket/validTimestamps``), so that bucket
    /// arithmetic cannot overflow.
    /// - Complexity: O(samples).
    static func rejection(of batch: TelemetryBatch) -> SampleStoreError? {
        guard
            let bad = batch.samples.first(where: {
                !$0.value.isFinite || !TimeBucket.validTimestamps.contains($0.timestamp)
            })
        else { return nil }
        return SampleStoreError(
            code: .invalidSample,
            message:
                "device '\(batch.device)' metric '\(bad.metric)': sample (ts \(bad.timestamp), value \(bad.value)) needs a finite value and a timestamp in years 1 to 9999"
        )
    }
}
