public import ReflexMQTT
import ReflexNode

/// The HTTP API's settings (`http.*` keys).
///
/// | key | environment | flag | default |
/// | --- | --- | --- | --- |
/// | `http.listen` | `REFLEX_HTTP_LISTEN` | `--http-listen` | `0.0.0.0:8080` (`off` disables the API) |
/// | `http.headerTimeout` | `REFLEX_HTTP_HEADER_TIMEOUT` | `--http-header-timeout` | 10 s |
/// | `http.bodyTimeout` | `REFLEX_HTTP_BODY_TIMEOUT` | `--http-body-timeout` | 30 s |
/// | `http.idleTimeout` | `REFLEX_HTTP_IDLE_TIMEOUT` | `--http-idle-timeout` | 60 s |
/// | `http.maxConnections` | `REFLEX_HTTP_MAX_CONNECTIONS` | `--http-max-connections` | 1024 |
/// | `http.metricsPublic` | `REFLEX_HTTP_METRICS_PUBLIC` | `--http-metrics-public` | false (`/metrics` needs a viewer token) |
///
/// The body limits are fixed here rather than configurable: 10 MiB of line protocol per write
/// (after gzip decompression), as InfluxDB's own default is in that range and Telegraf's default
/// batch of 1,000 metrics is far below it.
public struct HTTPAPIConfiguration: Sendable, Equatable {
    /// Where the API listens; nil when `http.listen` is `off`.
    public var listen: BrokerConfiguration.Endpoint? = BrokerConfiguration.Endpoint(host: "0.0.0.0", port: 8080)
    /// The largest request body accepted, in bytes after decompression.
    public var maxBodyBytes: Int = 10 << 20
    /// The most samples one write request may carry.
    public var maxSamplesPerWrite: Int = 1_000_000
    /// The largest `limit` a list query may ask for.
    public var maxPageSize: Int = 10_000
    /// How long a new connection may take to send its first request head (`http.headerTimeout`).
    public var headerTimeout: Duration = .seconds(10)
    /// How long a request body may take to arrive, from its head (`http.bodyTimeout`).
    public var bodyTimeout: Duration = .seconds(30)
    /// How long a kept-alive connection may stay idle between requests (`http.idleTimeout`); a
    /// streaming response (the live feed) is not idle.
    public var idleTimeout: Duration = .seconds(60)
    /// The most HTTP connections open at once (`http.maxConnections`); more are answered 503
    /// and closed.
    public var maxConnections: Int = 1_024
    /// Whether `GET /metrics` is served without a token (`http.metricsPublic`): for a scraper on a
    /// private network that sends no bearer token. Off, it needs a viewer token, as every read.
    public var metricsPublic = false

    /// The defaults above.
    public init() {}
}
