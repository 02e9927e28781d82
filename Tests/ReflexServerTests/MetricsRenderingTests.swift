import Foundation
import Metrics
import Prometheus
import ReflexServer
import ReflexStore
import Synchronization
import Testing

/// ``NodeMetrics``: what `/metrics` renders from its sources, that every family is in the
/// catalog with its help text and bounded labels, and that read-at-scrape counters never go down.
@Suite("Metrics: rendering, catalog and label bounds")
struct MetricsRenderingTests {
    /// A store whose counters a test sets.
    final class FakeStore: Sendable {
        let value = Mutex(IngestStatistics())
    }

    /// `name{labels} value` lines, by name and labels.
    static func series(_ text: String) -> [(name: String, labels: [String: String], value: Double)] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let value = Double(parts[1]) else { return nil }
            let head = String(parts[0])
            guard let brace = head.firstIndex(of: "{") else { return (head, [:], value) }
            let name = String(head[..<brace])
            var labels: [String: String] = [:]
            for pair in head[head.index(after: brace)..<head.index(before: head.endIndex)].split(separator: ",") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                labels[String(kv[0])] = String(kv[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            return (name, labels, value)
        }
    }

    static func value(_ text: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
        series(text).first { $0.name == name && $0.labels == labels }?.value
    }

    /// The family a series belongs to (histograms add `_bucket`, `_sum`, `_count`).
    static func family(of name: String) -> MetricFamily? {
        if let family = MetricCatalog.families[name] { return family }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            if let family = MetricCatalog.families[String(name.dropLast(suffix.count))], family.kind == .histogram {
                return family
            }
        }
        return nil
    }

    @Test("store counters are read at scrape time and never go down when the source restarts from zero")
    func mirroredCounters() {
        let metrics = NodeMetrics()
        let store = FakeStore()
        metrics.attach(MetricSources(store: { store.value.withLock { $0 } }))
        store.value.withLock {
            $0.samplesCommitted = 40
            $0.failedCommits = 2
            $0.pendingSamples = 7
        }
        var text = metrics.render()
        #expect(Self.value(text, "reflex_store_samples_committed_total") == 40)
        #expect(Self.value(text, "reflex_store_commit_failures_total") == 2)
        #expect(Self.value(text, "reflex_store_pending_samples") == 7)
        store.value.withLock {
            $0.samplesCommitted = 55
            $0.pendingSamples = 0
        }
        text = metrics.render()
        #expect(Self.value(text, "reflex_store_samples_committed_total") == 55)
        #expect(Self.value(text, "reflex_store_pending_samples") == 0)
        store.value.withLock { $0.samplesCommitted = 3 }  // a source that restarted
        text = metrics.render()
        #expect(Self.value(text, "reflex_store_samples_committed_total") == 55)
    }

    @Test("every family rendered is in the catalog, has HELP and TYPE, and carries only allowed label values")
    func catalogAndBounds() async throws {
        let metrics = NodeMetrics()
        // The broker's counters through the node's factory, as MQTTBroker creates them.
        Counter(
            label: "reflex_mqtt_packets_received_total",
            dimensions: [("type", "publish")],
            factory: metrics.factory
        )
        .increment()
        let store = FakeStore()
        metrics.attach(MetricSources(store: { store.value.withLock { $0 } }))
        let text = metrics.render(http: HTTPConnectionStatistics())
        let lines = text.split(separator: "\n").map(String.init)
        var families = Set<String>()
        for entry in Self.series(text) {
            let family = try #require(Self.family(of: entry.name), "\(entry.name) is not in MetricCatalog")
            families.insert(family.name)
            for (label, value) in entry.labels where label != "le" {
                let allowed = try #require(family.labels[label], "\(entry.name) has unlisted label \(label)")
                #expect(allowed.contains(value), "\(entry.name){\(label)=\"\(value)\"} is not an allowed value")
            }
        }
        for name in families {
            let family = try #require(MetricCatalog.families[name])
            #expect(lines.contains("# HELP \(name) \(family.help)"), "no HELP line for \(name)")
            #expect(lines.contains("# TYPE \(name) \(family.kind.rawValue)"), "no TYPE line for \(name)")
        }
        #expect(families.contains("reflex_mqtt_packets_received_total"))
        #expect(families.contains("reflex_store_commit_latency_seconds"))
        #expect(families.contains("reflex_http_connections"))
    }

    @Test("counters end in _total and other families do not; names are reflex_ or process_")
    func naming() {
        for family in MetricCatalog.families.values {
            #expect(family.name.hasPrefix("reflex_") || family.name.hasPrefix("process_"))
            #expect((family.kind == .counter) == family.name.hasSuffix("_total"), "\(family.name)")
            #expect(!family.help.isEmpty)
        }
    }

    @Test("every family is documented in docs/metrics.md")
    func documented() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/metrics.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        for name in MetricCatalog.families.keys {
            #expect(text.contains("`\(name)`"), "docs/metrics.md does not list \(name)")
        }
    }
}
