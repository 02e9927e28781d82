import Prometheus
import ReflexAutomation
import ReflexMQTT
import ReflexNode
import ReflexStore

extension NodeMetrics {
    /// Reads every attached source into the registry (called by ``render(http:)``).
    func collect(http: HTTPConnectionStatistics?) {
        let sources = attached
        if let store = sources.store?() { collectStore(store) }
        if let ingest = sources.ingest?() {
            mirror("reflex_ingest_messages_total", total: Int64(ingest.messages))
            mirror("reflex_ingest_samples_total", total: Int64(ingest.samples))
            mirror(
                "reflex_ingest_refused_messages_total",
                [("reason", "invalid")],
                total: Int64(ingest.invalidMessages)
            )
        }
        if let gate = sources.seriesGate?.counters {
            mirror(
                "reflex_ingest_refused_messages_total",
                [("reason", "series_limit")],
                total: Int64(gate.messagesRefused)
            )
            mirror(
                "reflex_ingest_refused_samples_total",
                [("reason", "series_limit")],
                total: Int64(gate.samplesRefused)
            )
        }
        if let detection = sources.detection { collectDetection(detection) }
        if let automation = sources.automation { collectAutomation(automation) }
        if let broker = sources.broker {
            gauge("reflex_mqtt_connections").set(Int64(broker.connectedClientCount))
        }
        if let http { collectHTTP(http) }
        collectProcess(ProcessStatistics.current())
    }

    func collectStore(_ store: IngestStatistics) {
        mirror("reflex_store_samples_committed_total", total: store.samplesCommitted)
        mirror("reflex_store_messages_committed_total", total: store.messagesCommitted)
        mirror("reflex_store_dead_letters_total", total: store.deadLettersCommitted)
        mirror("reflex_store_commits_total", total: store.commits)
        mirror("reflex_store_commit_failures_total", total: store.failedCommits)
        gauge("reflex_store_pending_samples").set(Int64(store.pendingSamples))
    }

    func collectDetection(_ detection: DetectionService) {
        let lag = detection.lag
        gauge("reflex_detection_lag_seconds").set(lag.secondsBehind)
        gauge("reflex_detection_lag_batches").set(lag.batchesBehind)
        gauge("reflex_detection_series").set(Int64(detection.status.seriesCount))
        let counters = detection.status.counters
        mirror("reflex_detection_samples_scored_total", total: Int64(counters.samplesScored))
        mirror("reflex_detection_samples_untracked_total", total: Int64(counters.samplesUntracked))
        mirror("reflex_detection_anomaly_events_total", total: Int64(counters.anomalyEvents))
        mirror("reflex_detection_scores_dropped_total", total: Int64(counters.scoresDropped))
    }

    func collectAutomation(_ automation: AutomationService) {
        let counters = automation.counters.value
        for decision in AuditDecision.allCases {
            mirror(
                "reflex_automation_decisions_total",
                [("outcome", decision.rawValue)],
                total: Int64(counters.decisions[decision] ?? 0)
            )
        }
        for state in MetricCatalog.commandStates {
            guard let commandState = CommandState(rawValue: state) else { continue }
            mirror(
                "reflex_automation_commands_total",
                [("state", state)],
                total: Int64(counters.finishedCommands[commandState] ?? 0)
            )
        }
        gauge("reflex_automation_active_alarms").set(Int64(automation.snapshot.alarms.open.count))
    }

    func collectHTTP(_ http: HTTPConnectionStatistics) {
        gauge("reflex_http_connections").set(Int64(http.open))
        mirror("reflex_http_connections_total", total: Int64(http.accepted))
        mirror("reflex_http_connections_refused_total", total: Int64(http.refusedOverLimit))
        mirror("reflex_http_timeouts_total", [("phase", "header")], total: Int64(http.headerTimeouts))
        mirror("reflex_http_timeouts_total", [("phase", "body")], total: Int64(http.bodyTimeouts))
    }

    func collectProcess(_ process: ProcessStatistics) {
        if let rss = process.residentBytes { gauge("process_resident_memory_bytes").set(rss) }
        if let virtual = process.virtualBytes { gauge("process_virtual_memory_bytes").set(virtual) }
        if let start = process.startTimeSeconds { gauge("process_start_time_seconds").set(start) }
        if let fds = process.openFileDescriptors { gauge("process_open_fds").set(Int64(fds)) }
    }
}
